//! The knowledge base over the JSON API (api.md, "Knowledge base"):
//! intents, unanswered questions, versions. Every route needs a signed-in
//! staff member (bearer, or the console cookie with `X-CSRF-Token` for
//! writes) holding `support.manage` at the province unit, checked in
//! `flows::faq`. A change that the evaluation refuses is answered 409 with
//! the error and the evaluation (`evaluation`): nothing changed.

use std::sync::Arc;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiResult, ErrorDetail, staff_actor};
use crate::app::App;
use crate::flows::faq::{self, Change, Outcome};
use crate::helpdesk::edit::{Evaluation, IntentDoc};
use crate::util;

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct IntentItem {
    pub id: String,
    pub title: String,
    /// How many example questions it has.
    pub examples: u64,
    /// Questions the bot answered with it in the last 30 days.
    pub questions_last_30_days: u64,
    /// `Có sẵn`, `Đã sửa` or `Mới thêm`.
    pub origin: String,
    /// It has guided-troubleshooting steps.
    pub has_steps: bool,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct IntentList {
    /// The published version in use (0: the built-in knowledge base).
    pub version: u64,
    pub items: Vec<IntentItem>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct IntentOut {
    pub id: String,
    pub title: String,
    pub title_en: String,
    /// Placeholders `{public_url}`, `{office_phone}`, `{office_email}` are
    /// replaced when the bot answers.
    pub answer_vi: String,
    pub answer_en: String,
    /// Example questions (Vietnamese, any spelling), the ones assigned from
    /// unanswered questions included.
    pub examples: Vec<String>,
    pub examples_en: Vec<String>,
    /// Follow-up intent ids.
    pub suggest: Vec<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct IntentIn {
    pub title: String,
    pub answer_vi: String,
    pub answer_en: String,
    /// At least 5 example questions (with `examples_en`).
    pub examples: Vec<String>,
    /// Default: the Vietnamese title.
    pub title_en: Option<String>,
    /// English example questions; omitted: kept as they are.
    pub examples_en: Option<Vec<String>>,
    /// Follow-up intent ids; omitted: kept as they are.
    pub suggest: Option<Vec<String>>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ConfusionOut {
    pub q: String,
    /// The expected intent; absent: the bot should say it does not know.
    pub expected: Option<String>,
    /// What the bot answered; absent: it said it does not know.
    pub got: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EvaluationOut {
    /// In-scope top-1 accuracy of the new version (0..1).
    pub in_scope: f64,
    /// Out-of-scope abstention rate of the new version (0..1).
    pub abstain: f64,
    pub in_scope_before: f64,
    pub abstain_before: f64,
    pub in_scope_cases: u64,
    pub out_of_scope_cases: u64,
    /// Questions it gets wrong that the version in use got right.
    pub introduced: Vec<ConfusionOut>,
    /// Questions it gets right that the version in use got wrong.
    pub fixed: u64,
    /// Why it was refused (empty when published).
    pub reasons: Vec<String>,
}

impl From<&Evaluation> for EvaluationOut {
    fn from(e: &Evaluation) -> Self {
        EvaluationOut {
            in_scope: e.in_scope,
            abstain: e.abstain,
            in_scope_before: e.in_scope_before,
            abstain_before: e.abstain_before,
            in_scope_cases: e.in_scope_cases as u64,
            out_of_scope_cases: e.out_of_scope_cases as u64,
            introduced: e
                .introduced
                .iter()
                .map(|c| ConfusionOut {
                    q: c.q.clone(),
                    expected: c.expected.clone(),
                    got: c.got.clone(),
                })
                .collect(),
            fixed: e.fixed as u64,
            reasons: e.reasons.clone(),
        }
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PublishedOut {
    /// The new version's number.
    pub version: u64,
    /// In-scope top-1 accuracy (0..1).
    pub in_scope: f64,
    /// Out-of-scope abstention rate (0..1).
    pub abstain: f64,
    pub evaluation: EvaluationOut,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RefusedOut {
    pub error: ErrorDetail,
    /// The evaluation that refused the change (absent for another conflict).
    pub evaluation: Option<EvaluationOut>,
}

#[derive(ApiResponse)]
pub enum PublishResponse {
    /// Published: the bot answers with the new version now.
    #[oai(status = 200)]
    Published(Json<PublishedOut>),
    /// Refused by the evaluation (in-scope accuracy < 90 % or abstention
    /// < 85 %), or another version was published meanwhile; nothing changed.
    #[oai(status = 409)]
    Refused(Json<RefusedOut>),
}

fn answer(r: crate::error::AppResult<Outcome>) -> ApiResult<PublishResponse> {
    match r {
        Ok(Outcome::Published { version, eval }) => {
            Ok(PublishResponse::Published(Json(PublishedOut {
                version,
                in_scope: eval.in_scope,
                abstain: eval.abstain,
                evaluation: (&eval).into(),
            })))
        }
        Ok(Outcome::Refused(eval)) => Ok(PublishResponse::Refused(Json(RefusedOut {
            error: ErrorDetail {
                code: "evaluation_refused".into(),
                message: format!(
                    "Thay đổi chưa được xuất bản vì làm trợ lý trả lời kém đi: {}",
                    eval.reasons.join(" ")
                ),
                fields: None,
            },
            evaluation: Some((&eval).into()),
        }))),
        Err(crate::error::AppError::Conflict(m)) => {
            Ok(PublishResponse::Refused(Json(RefusedOut {
                error: ErrorDetail {
                    code: "conflict".into(),
                    message: m,
                    fields: None,
                },
                evaluation: None,
            })))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UnansweredItem {
    /// The newest of the identical questions; assigning it assigns them all.
    pub id: u64,
    /// Redacted (ID numbers, phones, codes, e-mails, passwords replaced).
    pub text: String,
    /// How many times it was asked (same normalised words).
    pub count: u64,
    /// dd/mm/yyyy HH:MM (Vietnam time).
    pub last_at: String,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UnansweredList {
    pub items: Vec<UnansweredItem>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AssignIn {
    /// The intent the question belongs to; null (or absent): out of scope.
    pub intent: Option<String>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct VersionItem {
    pub version: u64,
    /// dd/mm/yyyy HH:MM (Vietnam time).
    pub created_at: String,
    /// The staff member who published it.
    pub by: String,
    /// What changed.
    pub summary: String,
    pub in_scope: f64,
    pub abstain: f64,
    pub restored_from: Option<u64>,
}

#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct VersionList {
    /// The version in use (0: the built-in knowledge base).
    pub current: u64,
    pub items: Vec<VersionItem>,
}

pub struct FaqApi;

#[OpenApi]
impl FaqApi {
    /// Intents of the knowledge base in use, with their example counts.
    #[oai(path = "/faq/intents", method = "get")]
    async fn intents(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
    ) -> ApiResult<Json<IntentList>> {
        let actor = staff_actor(app, req).await?;
        let (version, rows) = faq::intents(app, &actor).await?;
        Ok(Json(IntentList {
            version,
            items: rows
                .into_iter()
                .map(|r| IntentItem {
                    id: r.id,
                    title: r.title,
                    examples: r.examples as u64,
                    questions_last_30_days: r.questions_30d,
                    origin: r.origin.to_string(),
                    has_steps: r.has_tree,
                })
                .collect(),
        }))
    }

    /// One intent as written (placeholders kept).
    #[oai(path = "/faq/intents/:id", method = "get")]
    async fn intent(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<String>,
    ) -> ApiResult<Json<IntentOut>> {
        let actor = staff_actor(app, req).await?;
        let d = faq::intent(app, &actor, &id).await?;
        Ok(Json(IntentOut {
            id: d.id,
            title: d.title,
            title_en: d.title_en,
            answer_vi: d.answer_vi,
            answer_en: d.answer_en,
            examples: d.examples,
            examples_en: d.examples_en,
            suggest: d.suggest,
        }))
    }

    /// Edits an intent, or adds it when new, and publishes the result as a
    /// new version when the evaluation allows it.
    #[oai(path = "/faq/intents/:id", method = "put")]
    async fn put_intent(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<String>,
        body: Json<IntentIn>,
    ) -> ApiResult<PublishResponse> {
        let actor = staff_actor(app, req).await?;
        let b = body.0;
        // Fields the body leaves out keep their current value.
        let old = faq::intent(app, &actor, &id).await.ok();
        let old_tree = old.as_ref().and_then(|o| o.tree.clone());
        let doc = IntentDoc {
            id: id.0.trim().to_string(),
            title: b.title,
            title_en: b.title_en.unwrap_or_default(),
            answer_vi: b.answer_vi,
            answer_en: b.answer_en,
            examples: b.examples,
            examples_en: b.examples_en.unwrap_or_else(|| {
                old.as_ref()
                    .map(|o| o.examples_en.clone())
                    .unwrap_or_default()
            }),
            suggest: b
                .suggest
                .unwrap_or_else(|| old.as_ref().map(|o| o.suggest.clone()).unwrap_or_default()),
            tree: old_tree,
        };
        answer(faq::publish(app, &actor, Change::Put(Box::new(doc))).await)
    }

    /// Retires an intent (publishes a version without it).
    #[oai(path = "/faq/intents/:id", method = "delete")]
    async fn delete_intent(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<String>,
    ) -> ApiResult<PublishResponse> {
        let actor = staff_actor(app, req).await?;
        answer(faq::publish(app, &actor, Change::Retire(id.0)).await)
    }

    /// Questions the bot could not answer and nobody has handled yet
    /// (identical ones counted once), newest first.
    #[oai(path = "/faq/unanswered", method = "get")]
    async fn unanswered(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
    ) -> ApiResult<Json<UnansweredList>> {
        let actor = staff_actor(app, req).await?;
        let list = faq::unanswered(app, &actor).await?;
        Ok(Json(UnansweredList {
            items: list
                .into_iter()
                .map(|s| UnansweredItem {
                    id: s.id,
                    text: s.text,
                    count: s.count as u64,
                    last_at: util::fmt_time(s.last_at),
                })
                .collect(),
        }))
    }

    /// Assigns a question (and its identical ones) to an intent — it
    /// becomes an example and an eval case — or, with `intent: null`, marks
    /// it out of scope; published as a new version when the evaluation
    /// allows it.
    #[oai(path = "/faq/unanswered/:id/assign", method = "post")]
    async fn assign(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        id: Path<u64>,
        body: Json<AssignIn>,
    ) -> ApiResult<PublishResponse> {
        let actor = staff_actor(app, req).await?;
        let intent = body.0.intent.map(|i| i.trim().to_string());
        answer(
            faq::publish(
                app,
                &actor,
                Change::Assign {
                    ids: vec![id.0],
                    intent,
                },
            )
            .await,
        )
    }

    /// Published versions, newest first.
    #[oai(path = "/faq/versions", method = "get")]
    async fn versions(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
    ) -> ApiResult<Json<VersionList>> {
        let actor = staff_actor(app, req).await?;
        let (current, list) = faq::versions(app, &actor).await?;
        Ok(Json(VersionList {
            current,
            items: list
                .into_iter()
                .map(|v| VersionItem {
                    version: v.version,
                    created_at: util::fmt_time(v.created_at),
                    by: v.by,
                    summary: v.summary,
                    in_scope: v.in_scope,
                    abstain: v.abstain,
                    restored_from: v.restored_from,
                })
                .collect(),
        }))
    }

    /// Makes a version's content current again as a new version (0: the
    /// built-in knowledge base), when the evaluation allows it.
    #[oai(path = "/faq/versions/:version/restore", method = "post")]
    async fn restore(
        &self,
        req: &Request,
        Data(app): Data<&Arc<App>>,
        version: Path<u64>,
    ) -> ApiResult<PublishResponse> {
        let actor = staff_actor(app, req).await?;
        answer(faq::publish(app, &actor, Change::Restore(version.0)).await)
    }
}
