//! The sandbox driven by the SDK (async and blocking) and by hand-made requests over
//! loopback HTTP.

#![allow(clippy::unwrap_used)]

mod attacks;
mod auth;
mod browser;
mod console;
mod direct;
mod family;
mod fidelity;
mod interop;
mod lifecycle;
mod overload;
mod refunds;
mod rules;
mod second_pass;
mod support;
