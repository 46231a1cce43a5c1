//! Province and ISP codes of the CDN log (DOMAIN.md §2) to names.
//!
//! An unknown code is never dropped: the row keeps its number and gets the name
//! [`UNKNOWN`], and the ingest counts how many such lines it saw.

pub const UNKNOWN: &str = "未知";

/// Every province code the platform documents, with its name.
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

// A linear scan over ≤34 pairs beats hashing here: the table fits in two cache lines'
// worth of keys and the common codes sit early.
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
        assert_eq!(PROVINCES.len(), 34);
        assert_eq!(ISPS.len(), 8);
        assert_eq!(province_name(1177), Some("天津"));
        assert_eq!(province_name(-1), Some("海外"));
        assert_eq!(province_name(1), Some("港澳台"));
        assert_eq!(isp_name(1046), Some("中国移动"));
        assert_eq!(isp_name(-1), Some("海外运营商"));
        assert_eq!(province_name(9999), None);
        assert_eq!(province_name(-7), None);
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
