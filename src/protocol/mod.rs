pub(crate) mod legacy;
