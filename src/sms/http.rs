//! The generic relay (`MOTCUA_SMS_PROVIDER=http`): each message is POSTed
//! as JSON `{"id","to","text"}` to `MOTCUA_SMS_HTTP_URL`; any 2xx means
//! accepted, anything else is retried with backoff (api.md).

use super::provider::{BoxFuture, Message, Outcome, Provider, transport_error};

pub struct HttpRelay {
    pub url: String,
}

impl Provider for HttpRelay {
    fn name(&self) -> &'static str {
        "http"
    }

    fn send<'a>(&'a self, client: &'a reqwest::Client, msg: &'a Message) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let body = serde_json::json!({"id": msg.uid, "to": msg.to, "text": msg.text});
            match client.post(&self.url).json(&body).send().await {
                Ok(r) if r.status().is_success() => Outcome::Accepted { id: None },
                // The relay's contract: anything but 2xx is retried.
                Ok(r) => Outcome::Retry {
                    code: format!("http_{}", r.status().as_u16()),
                },
                Err(e) => transport_error(&e),
            }
        })
    }
}
