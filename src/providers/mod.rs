pub mod alibaba;
pub mod aws;
pub mod huawei;
pub mod report;
pub mod tencent;
