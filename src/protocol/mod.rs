//! Pure codecs: text and bytes in, values out. No tokio, no clocks, no IO.

pub(crate) mod engine;
pub(crate) mod json;
pub(crate) mod legacy;
pub(crate) mod packet;
pub(crate) mod proto1;
pub(crate) mod utf16;
