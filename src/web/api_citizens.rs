//! JSON API: staff-assisted citizen accounts (seed part I).

use poem_openapi::OpenApi;

pub struct CitizenAccountsApi;

#[OpenApi]
impl CitizenAccountsApi {}
