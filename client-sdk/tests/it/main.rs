//! The client SDK against in-process weft networks.

mod bulk;
mod collections;
mod events;
mod gateway;
mod key_level;
mod support;
