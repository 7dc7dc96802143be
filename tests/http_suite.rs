//! The HTTP stage driven through its public interface: `StreamHandler`
//! calls with synthetic bytes and timestamps, then `finish`.

#[path = "http_suite/common.rs"]
mod common;

#[path = "http_suite/basic.rs"]
mod basic;
#[path = "http_suite/close.rs"]
mod close;
#[path = "http_suite/detect.rs"]
mod detect;
#[path = "http_suite/framing.rs"]
mod framing;
#[path = "http_suite/gaps.rs"]
mod gaps;
#[path = "http_suite/robust.rs"]
mod robust;
#[path = "http_suite/split.rs"]
mod split;
