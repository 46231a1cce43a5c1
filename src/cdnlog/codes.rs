//! Province, region and ISP codes of the CDN log (DOMAIN.md §2) to names.
//!
//! An unknown code is never dropped: the row keeps its number and gets the name
//! [`UNKNOWN`], and the ingest counts how many such lines it saw.
//!
//! Mainland packages (`…-mainland`) carry province codes in field 6; overseas packages
//! carry region and country codes in the same field. The two sets do not collide, so one
//! table names both, whatever package a line came from.

pub const UNKNOWN: &str = "未知";

/// Every province code the platform documents, with its name, then the overseas region
/// and country codes (mainland codes first: they are the common ones, and the lookup is a
/// linear scan).
pub const PROVINCES: &[(i32, &str)] = &[
    (22, "北京"),
    (86, "内蒙古"),
    (146, "山西"),
    (1069, "河北"),
    (1177, "天津"),
    (119, "宁夏"),
    (152, "陕西"),
    (1208, "甘肃"),
    (1467, "青海"),
    (1468, "新疆"),
    (145, "黑龙江"),
    (1445, "吉林"),
    (1464, "辽宁"),
    (2, "福建"),
    (120, "江苏"),
    (121, "安徽"),
    (122, "山东"),
    (1050, "上海"),
    (1442, "浙江"),
    (182, "河南"),
    (1135, "湖北"),
    (1465, "江西"),
    (1466, "湖南"),
    (118, "贵州"),
    (153, "云南"),
    (1051, "重庆"),
    (1068, "四川"),
    (1155, "西藏"),
    (4, "广东"),
    (173, "广西"),
    (1441, "海南"),
    (0, "其他"),
    (1, "港澳台"),
    (-1, "海外"),
    // Overseas packages. Country codes: Tencent Cloud CDN, "Overseas CDN Log Download"
    // (overseas region code table of the log documentation, as kept in Tencent's public
    // docs repository), plus 1159, 2026, 4460 from the current "日志服务" page (DOMAIN.md).
    // The current page lists about 150 countries; the full table was not reachable from
    // here, so other codes stay as their number with 未知 and are counted per file.
    (669, "美国"),
    (1044, "日本"),
    (3379, "韩国"),
    (1176, "新加坡"),
    (1200, "中国香港"),
    (1159, "中国澳门"),
    (2026, "中国台湾"),
    (4460, "中国大陆"),
    (73, "印度"),
    (1195, "印度尼西亚"),
    (57, "泰国"),
    (144, "越南"),
    (3701, "马来西亚"),
    (2588, "菲律宾"),
    (3839, "加拿大"),
    // Buckets of the same pages: "other overseas regions", and (older docs) "unknown".
    (-2, "境外其他"),
    (-3, "未知地区"),
    // Client continents (日志服务 page).
    (-20, "亚洲"),
    (-21, "南美洲"),
    (-22, "北美洲"),
    (-23, "欧洲"),
    (-24, "非洲"),
    (-25, "大洋洲"),
    // Service areas (日志服务 page); the codes -10…-15 it also lists are left unnamed.
    (2000000001, "亚太一区"),
    (2000000002, "亚太二区"),
    (2000000003, "亚太三区"),
    (2000000004, "中东"),
    (2000000005, "北美"),
    (2000000006, "欧洲"),
    (2000000007, "南美"),
    (2000000008, "非洲"),
];

/// Every ISP code the platform documents, with its name.
pub const ISPS: &[(i32, &str)] = &[
    (2, "中国电信"),
    (26, "中国联通"),
    (38, "教育网"),
    (43, "长城宽带"),
    (1046, "中国移动"),
    (3947, "中国铁通"),
    (-1, "海外运营商"),
    (0, "其他运营商"),
];

/// The name of a province code; `None` when the code is not in the table.
#[inline]
pub fn province_name(code: i32) -> Option<&'static str> {
    lookup(PROVINCES, code)
}

/// The name of an ISP code; `None` when the code is not in the table.
#[inline]
pub fn isp_name(code: i32) -> Option<&'static str> {
    lookup(ISPS, code)
}

// A linear scan beats hashing here: the common (mainland) codes sit in the first 34
// entries, and only overseas or unknown codes walk the rest.
#[inline]
fn lookup(table: &[(i32, &'static str)], code: i32) -> Option<&'static str> {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_tables_from_domain_md() {
        assert_eq!(PROVINCES.len(), 34 + 31);
        assert_eq!(ISPS.len(), 8);
        assert_eq!(province_name(1177), Some("天津"));
        assert_eq!(province_name(-1), Some("海外"));
        assert_eq!(province_name(1), Some("港澳台"));
        assert_eq!(isp_name(1046), Some("中国移动"));
        assert_eq!(isp_name(-1), Some("海外运营商"));
        assert_eq!(province_name(9999), None);
        assert_eq!(province_name(-7), None);
        assert_eq!(province_name(669), Some("美国"));
        assert_eq!(province_name(1044), Some("日本"));
        assert_eq!(province_name(1200), Some("中国香港"));
        assert_eq!(province_name(2000000005), Some("北美"));
        assert_eq!(province_name(-12), None, "documented but unnamed bucket");
        assert_eq!(isp_name(3947), Some("中国铁通"));
        assert_eq!(isp_name(3948), None);
        for (code, name) in PROVINCES {
            assert_eq!(province_name(*code), Some(*name));
        }
        for (code, name) in ISPS {
            assert_eq!(isp_name(*code), Some(*name));
        }
        let mut codes: Vec<i32> = PROVINCES.iter().map(|p| p.0).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), PROVINCES.len(), "no duplicate codes");
    }
}
