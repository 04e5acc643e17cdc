pub mod alibaba;
pub mod aws;
pub mod huawei;
pub mod tencent;
