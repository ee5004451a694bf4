//! JSON API: staff access requests (api.md "Staff access requests").

use std::sync::Arc;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::app::App;
use crate::domain::{CitizenId, Permission, PermissionSet};
use crate::error::AppError;
use crate::flows::access_requests::{self, NewRequest};
use crate::store::access_requests::{AccessRequest, Status};
use crate::web::api::{ApiResult, check_csrf, staff_actor};

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AccessRequestIn {
    pub unit_id: u64,
    pub position: String,
    pub work_phone: Option<String>,
    pub note: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "AccessRequestCreated")]
pub struct RequestCreated {
    pub request_id: u64,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AccessRequestOut {
    pub id: u64,
    pub full_name: String,
    pub id_number_masked: String,
    pub unit: String,
    pub unit_id: u64,
    pub position: String,
    pub created_at: String,
    pub status: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AccessRequestList {
    pub total: u64,
    pub items: Vec<AccessRequestOut>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ApproveIn {
    pub permissions: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RejectIn {
    pub reason: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Decided {
    pub id: u64,
    pub status: String,
}

#[derive(ApiResponse)]
pub enum CreatedRequest {
    #[oai(status = 201)]
    Created(Json<RequestCreated>),
}

pub struct AccessApi;

async fn describe(
    app: &Arc<App>,
    list: Vec<AccessRequest>,
) -> Result<Vec<AccessRequestOut>, AppError> {
    let tree = app.tree();
    let names: Vec<String> = list.iter().map(|r| r.username.clone()).collect();
    let people = crate::flows::reports::accounts_named(app, names).await?;
    Ok(list
        .into_iter()
        .zip(people)
        .map(|(r, a)| AccessRequestOut {
            id: r.id,
            full_name: a.as_ref().map(|a| a.full_name.clone()).unwrap_or_default(),
            id_number_masked: a
                .as_ref()
                .and_then(|a| a.id_number.as_deref())
                .and_then(|i| CitizenId::parse(i).ok())
                .map(|i| i.masked())
                .unwrap_or_default(),
            unit: tree.name(r.unit),
            unit_id: r.unit,
            position: r.position,
            created_at: crate::util::fmt_time(r.created_at),
            status: r.status.as_str().to_string(),
        })
        .collect())
}

#[OpenApi]
impl AccessApi {
    /// A signed-in portal account asks for one-stop staff permissions in a unit.
    #[oai(path = "/staff-access-requests", method = "post")]
    async fn submit(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        body: Json<AccessRequestIn>,
    ) -> ApiResult<CreatedRequest> {
        let actor = crate::web::ctx::current(app, req, false)
            .await
            .ok_or(AppError::Unauthorized)?;
        check_csrf(app, req)?;
        let b = body.0;
        let r = access_requests::submit(
            app,
            &actor,
            NewRequest {
                unit_id: Some(b.unit_id),
                position: b.position,
                work_phone: b.work_phone,
                note: b.note,
            },
        )
        .await?;
        Ok(CreatedRequest::Created(Json(RequestCreated {
            request_id: r.id,
        })))
    }

    /// Requests the caller may decide (users.create in the unit's subtree).
    #[oai(path = "/staff-access-requests", method = "get")]
    async fn list(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        status: Query<Option<String>>,
    ) -> ApiResult<Json<AccessRequestList>> {
        let actor = staff_actor(app, req).await?;
        if !actor.account.has_any(Permission::UsersCreate) {
            return Err(AppError::Forbidden.into());
        }
        let status = match status.0.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                AppError::field(
                    "status",
                    "Trạng thái phải là pending, approved hoặc rejected.",
                )
            })?),
            None => None,
        };
        let list = access_requests::visible(app, &actor, status).await?;
        let items = describe(app, list).await?;
        Ok(Json(AccessRequestList {
            total: items.len() as u64,
            items,
        }))
    }

    /// Approves a request with permissions the caller holds in that unit.
    #[oai(path = "/staff-access-requests/:id/approve", method = "post")]
    async fn approve(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<u64>,
        body: Json<ApproveIn>,
    ) -> ApiResult<Json<Decided>> {
        let actor = staff_actor(app, req).await?;
        let mut set = PermissionSet::empty();
        for p in &body.permissions {
            set.insert(Permission::parse(p).map_err(|e| AppError::field("permissions", e.0))?);
        }
        let r = access_requests::approve(app, &actor, *id, set).await?;
        Ok(Json(Decided {
            id: r.id,
            status: r.status.as_str().into(),
        }))
    }

    /// Rejects a request with a reason (sent to the requester by SMS).
    #[oai(path = "/staff-access-requests/:id/reject", method = "post")]
    async fn reject(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<u64>,
        body: Json<RejectIn>,
    ) -> ApiResult<Json<Decided>> {
        let actor = staff_actor(app, req).await?;
        let r = access_requests::reject(app, &actor, *id, &body.reason).await?;
        Ok(Json(Decided {
            id: r.id,
            status: r.status.as_str().into(),
        }))
    }
}
