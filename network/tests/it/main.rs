//! weft-network end to end.

mod key_level;
mod private_data;
mod readme;
