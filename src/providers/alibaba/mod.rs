pub mod signer;
