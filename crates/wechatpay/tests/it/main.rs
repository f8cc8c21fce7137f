//! The SDK against a real server over loopback HTTP: the in-process sandbox (which checks
//! signatures and signs answers like WeChat Pay) and, for broken answers, a small server
//! that signs them wrongly on purpose.

#![allow(clippy::unwrap_used)]

mod active_payment;
mod attacks;
mod bills;
mod blocking;
mod callbacks;
mod calls;
mod certificates;
mod endpoints;
mod first_day;
mod misbehaving;
mod proxy;
mod support;
mod verification;
