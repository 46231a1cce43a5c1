"""Province and ISP names by code for the peer scripts: the mainland codes (the ones the
generator writes) from src/cdnlog/codes.rs; anything else is 未知, as in cdncost."""
PROVINCES = {
    22: "北京", 86: "内蒙古", 146: "山西", 1069: "河北", 1177: "天津", 119: "宁夏", 152: "陕西",
    1208: "甘肃", 1467: "青海", 1468: "新疆", 145: "黑龙江", 1445: "吉林", 1464: "辽宁", 2: "福建",
    120: "江苏", 121: "安徽", 122: "山东", 1050: "上海", 1442: "浙江", 182: "河南", 1135: "湖北",
    1465: "江西", 1466: "湖南", 118: "贵州", 153: "云南", 1051: "重庆", 1068: "四川", 1155: "西藏",
    4: "广东", 173: "广西", 1441: "海南", 0: "其他", 1: "港澳台", -1: "海外",
}
ISPS = {2: "中国电信", 26: "中国联通", 38: "教育网", 43: "长城宽带", 1046: "中国移动", 3947: "中国铁通", -1: "海外运营商", 0: "其他运营商"}
COLUMNS = ["time", "client_ip", "domain", "url", "bytes", "province_code", "isp_code", "status",
           "referer", "request_ms", "user_agent", "range", "method", "protocol", "cache", "port"]
