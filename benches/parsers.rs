//! Micro-benchmarks of the response parsers: AWS's XML (quick-xml + serde) and the JSON of
//! Tencent, Alibaba and Huawei, each on one user's keys (2, the usual maximum) and on a full
//! page of users (the cloud's page size as cloudkeys asks for it). Run: `cargo bench --bench parsers`.

use cloudkeys::providers::{alibaba, aws, huawei, tencent};
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

const KEYS: usize = 2;

fn aws_keys_xml(count: usize) -> String {
    let members: String = (0..count)
        .map(|i| {
            format!(
                "<member><UserName>alice</UserName><AccessKeyId>AKIAEXAMPLE{i:09}</AccessKeyId>\
                 <Status>Active</Status><CreateDate>2024-01-02T03:04:05Z</CreateDate></member>"
            )
        })
        .collect();
    format!(
        "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <ListAccessKeysResult><UserName>alice</UserName><AccessKeyMetadata>{members}\
         </AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>\
         <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>\
         </ResponseMetadata></ListAccessKeysResponse>"
    )
}

fn aws_users_xml(count: usize) -> String {
    let members: String = (0..count)
        .map(|i| {
            format!(
                "<member><Path>/</Path><UserName>user-{i:05}</UserName><UserId>AIDAEXAMPLE{i:010}</UserId>\
                 <Arn>arn:aws:iam::111122223333:user/user-{i:05}</Arn>\
                 <CreateDate>2023-05-06T07:08:09Z</CreateDate></member>"
            )
        })
        .collect();
    format!(
        "<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListUsersResult>\
         <Users>{members}</Users><IsTruncated>true</IsTruncated><Marker>bWFya2VyLTEwMDA=</Marker>\
         </ListUsersResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\
         </ListUsersResponse>"
    )
}

fn tencent_keys_json(count: usize) -> String {
    let keys: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"AccessKeyId":"AKIDEXAMPLE{i:025}","Status":"Active","CreateTime":"2019-12-25 14:53:03","Description":null}}"#
            )
        })
        .collect();
    format!(
        r#"{{"Response":{{"AccessKeys":[{}],"RequestId":"bbc4c6b1-ee32-416a-9135-68de318c54f2"}}}}"#,
        keys.join(",")
    )
}

fn tencent_users_json(count: usize) -> String {
    let users: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"Uin":{},"Name":"user-{i:05}","Uid":{},"Remark":null,"ConsoleLogin":1,"PhoneNum":"","CountryCode":"86","Email":"","CreateTime":"2021-11-26 16:21:01","NickName":"user-{i:05}"}}"#,
                100_000_000_000u64 + i as u64,
                1_000_000 + i
            )
        })
        .collect();
    format!(
        r#"{{"Response":{{"Data":[{}],"RequestId":"r-1"}}}}"#,
        users.join(",")
    )
}

fn alibaba_keys_json(count: usize) -> String {
    let keys: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"AccessKeyId":"LTAI5tEXAMPLE{i:011}","Status":"Active","CreateDate":"2020-10-10T02:00:00Z"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"RequestId":"04F0F334-1335-436C-A1D7-6C044FE73368","AccessKeys":{{"AccessKey":[{}]}}}}"#,
        keys.join(",")
    )
}

fn alibaba_users_json(count: usize) -> String {
    let users: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"UserName":"user-{i:05}","UserId":"{}","DisplayName":"User {i}","Comments":"","CreateDate":"2020-10-10T02:00:00Z","UpdateDate":"2020-10-10T02:00:00Z"}}"#,
                122_748_924_538_357_000u64 + i as u64
            )
        })
        .collect();
    format!(
        r#"{{"RequestId":"r-1","IsTruncated":true,"Marker":"EXAMPLE","Users":{{"User":[{}]}}}}"#,
        users.join(",")
    )
}

fn huawei_keys_json(count: usize) -> String {
    let keys: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"user_id":"0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d","access_key_id":"HPUAEXAMPLE{i:09}","created_at":"2024-01-02T03:04:05.000Z","status":"active"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"access_keys":[{}],"page_info":{{"current_count":{count}}}}}"#,
        keys.join(",")
    )
}

fn huawei_users_json(count: usize) -> String {
    let users: Vec<String> = (0..count)
        .map(|i| {
            format!(
                r#"{{"user_id":"{i:032x}","user_name":"user-{i:05}","is_root_user":false,"urn":"iam::0a1b2c3d:user:user-{i:05}","created_at":"2024-01-02T03:04:05.000Z","enabled":true,"description":""}}"#
            )
        })
        .collect();
    format!(
        r#"{{"users":[{}],"page_info":{{"next_marker":"m-1","current_count":{count}}}}}"#,
        users.join(",")
    )
}

#[divan::bench_group]
mod list_access_keys {
    use super::*;

    #[divan::bench]
    fn aws_xml(bencher: Bencher) {
        let body = aws_keys_xml(KEYS);
        bencher.bench(|| {
            let page: aws::api::ListAccessKeysResponse =
                aws::api::parse(black_box(body.as_bytes())).unwrap_or_else(|e| panic!("{e}"));
            page.result.access_key_metadata.member.len()
        });
    }

    #[divan::bench]
    fn tencent_json(bencher: Bencher) {
        let body = tencent_keys_json(KEYS);
        bencher.bench(|| {
            match tencent::api::parse::<tencent::api::ListAccessKeysResponse>(black_box(
                body.as_bytes(),
            )) {
                Ok(tencent::api::Answer::Ok(page)) => page.access_keys.len(),
                _ => panic!("unreadable"),
            }
        });
    }

    #[divan::bench]
    fn alibaba_json(bencher: Bencher) {
        let body = alibaba_keys_json(KEYS);
        bencher.bench(|| {
            let page: alibaba::api::ListAccessKeysResponse =
                alibaba::api::parse(black_box(body.as_bytes())).unwrap_or_else(|e| panic!("{e}"));
            page.keys().map(|keys| keys.len()).unwrap_or_default()
        });
    }

    #[divan::bench]
    fn huawei_json(bencher: Bencher) {
        let body = huawei_keys_json(KEYS);
        bencher.bench(|| {
            let page: huawei::api::ListAccessKeysResponse =
                huawei::api::parse(black_box(body.as_bytes())).unwrap_or_else(|e| panic!("{e}"));
            page.access_keys.len()
        });
    }
}

/// One page of users at the page size cloudkeys asks for (Tencent's ListUsers has no pages:
/// 1,000 users in one answer).
#[divan::bench_group]
mod list_users_page {
    use super::*;

    #[divan::bench]
    fn aws_xml_1000(bencher: Bencher) {
        let body = aws_users_xml(1000);
        bencher.bench(|| {
            let page: aws::api::ListUsersResponse =
                aws::api::parse(black_box(body.as_bytes())).unwrap_or_else(|e| panic!("{e}"));
            page.result.users.member.len()
        });
    }

    #[divan::bench]
    fn tencent_json_1000(bencher: Bencher) {
        let body = tencent_users_json(1000);
        bencher.bench(|| {
            match tencent::api::parse::<tencent::api::ListUsersResponse>(black_box(body.as_bytes()))
            {
                Ok(tencent::api::Answer::Ok(page)) => page.data.len(),
                _ => panic!("unreadable"),
            }
        });
    }

    #[divan::bench]
    fn alibaba_json_100(bencher: Bencher) {
        let body = alibaba_users_json(100);
        bencher.bench(|| {
            let page: alibaba::api::ListUsersResponse =
                alibaba::api::parse(black_box(body.as_bytes())).unwrap_or_else(|e| panic!("{e}"));
            page.users().map(|users| users.len()).unwrap_or_default()
        });
    }

    #[divan::bench]
    fn huawei_json_200(bencher: Bencher) {
        let body = huawei_users_json(200);
        bencher.bench(|| {
            let page: huawei::api::ListUsersResponse =
                huawei::api::parse(black_box(body.as_bytes())).unwrap_or_else(|e| panic!("{e}"));
            page.users.len()
        });
    }
}
