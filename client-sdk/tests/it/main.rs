//! The client SDK against in-process weft networks.

mod bulk;
mod events;
mod gateway;
mod key_level;
mod support;
