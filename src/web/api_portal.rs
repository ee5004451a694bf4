//! JSON API: citizen self-service (seed part II).

use poem_openapi::OpenApi;

pub struct PortalApi;

#[OpenApi]
impl PortalApi {}
