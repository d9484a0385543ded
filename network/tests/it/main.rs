//! weft-network end to end.

mod certificates;
mod consortium;
mod faults;
mod hosts;
mod key_level;
mod private_data;
mod readme;
