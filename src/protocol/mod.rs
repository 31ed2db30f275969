pub(crate) mod legacy;
pub(crate) mod proto1;
