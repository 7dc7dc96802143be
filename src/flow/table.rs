//! The flow table. (being written)
use super::Connection;

#[derive(Clone, Copy, Debug)]
pub struct FlowLimits {}

#[derive(Clone, Debug, Default)]
pub struct FlowStats {}

pub struct FlowTable {}

pub struct Finished<H> {
    pub connection: Connection,
    pub handler: H,
}
