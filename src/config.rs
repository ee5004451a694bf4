//! Settings: defaults, then an optional TOML file, then `MOTCUA_*` environment
//! variables (the variable wins). Names follow `shared/spec/api.md`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("setting {name} is invalid: {message}")]
    Invalid { name: &'static str, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsProvider {
    Outbox,
    Http,
    /// eSMS.vn brandname API.
    Esms,
    /// SpeedSMS API.
    SpeedSms,
}

impl SmsProvider {
    pub fn name(self) -> &'static str {
        match self {
            SmsProvider::Outbox => "outbox",
            SmsProvider::Http => "http",
            SmsProvider::Esms => "esms",
            SmsProvider::SpeedSms => "speedsms",
        }
    }
}

/// The SMS gateway's settings beyond the provider's name.
#[derive(Debug, Clone, Default)]
pub struct SmsSettings {
    pub esms_api_key: String,
    pub esms_secret_key: String,
    pub esms_brandname: String,
    pub esms_url: String,
    pub speedsms_token: String,
    pub speedsms_sender: Option<String>,
    pub speedsms_url: String,
    /// `MOTCUA_SMS_UNICODE`: send Vietnamese with diacritics (UCS-2); off
    /// sends them unaccented (GSM-7, 160 characters a segment).
    pub unicode: bool,
    /// `MOTCUA_SMS_CALLBACK_SECRET`: enables delivery receipts at
    /// `/webhooks/sms/<provider>/<secret>`.
    pub callback_secret: Option<String>,
    /// `MOTCUA_SMS_DAILY_LIMIT`: segments a day.
    pub daily_limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `MOTCUA_DATABASE_URL`: a PostgreSQL database instead of the embedded
    /// redb file (`postgres://user:pass@host:port/db`). Holds a password:
    /// never logged as is (see `store::pg::redact`).
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    pub public_url: String,
    pub sms_provider: SmsProvider,
    pub sms_http_url: Option<String>,
    pub sms: SmsSettings,
    pub subscriber_registry: Option<PathBuf>,
    pub captcha: bool,
    pub telegram_token: Option<String>,
    pub telegram_api_url: String,
    pub zalo_app_id: Option<String>,
    pub zalo_oa_secret: Option<String>,
    pub zalo_access_token: Option<String>,
    pub zalo_api_url: String,
    /// Telegram webhook mode: the secret Telegram sends in
    /// `X-Telegram-Bot-Api-Secret-Token` (unset: long polling).
    pub telegram_webhook_secret: Option<String>,
    /// Zalo token refresh (on error -216): the refresh token, the app's
    /// secret key, and the OAuth base URL.
    pub zalo_refresh_token: Option<String>,
    pub zalo_app_secret: Option<String>,
    pub zalo_oauth_url: String,
    /// The local office shown in page footers and bot answers.
    pub office_name: String,
    pub office_phone: String,
    pub office_email: String,
    /// `MOTCUA_PORTAL_SIGNIN`: how this portal signs citizens in, as the
    /// support bot tells them (`account`, `vneid` or `both`).
    pub portal_signin: crate::helpdesk::PortalSignin,
    /// Argon2 memory cost in KiB (tests lower it to keep debug builds quick).
    pub argon2_m_kib: u32,
    /// Scheduled backups: hours between them (0 = off) and how many to keep.
    pub backup_every_hours: u64,
    pub backup_keep: usize,
    /// Take the client IP from X-Forwarded-For (behind a reverse proxy).
    pub trust_proxy: bool,
    /// `MOTCUA_MAX_JSON_BYTES`: the largest JSON (or other non-upload)
    /// body any route reads; larger → 413.
    pub max_json_bytes: usize,
    /// `MOTCUA_METRICS_TOKEN`: `/metrics` needs this bearer token when
    /// set; unset, it answers loopback clients only.
    pub metrics_token: Option<String>,
    /// `MOTCUA_BACKUP_PASSPHRASE`: encrypts scheduled backups; also read by
    /// `backup --encrypt` and `restore` instead of asking on stdin.
    pub backup_passphrase: Option<String>,
}

/// The file form: every field optional, same names as the variables in lower case
/// without the `MOTCUA_` prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    sms_provider: Option<String>,
    sms_http_url: Option<String>,
    esms_api_key: Option<String>,
    esms_secret_key: Option<String>,
    esms_brandname: Option<String>,
    esms_url: Option<String>,
    speedsms_token: Option<String>,
    speedsms_sender: Option<String>,
    speedsms_url: Option<String>,
    sms_unicode: Option<String>,
    sms_callback_secret: Option<String>,
    sms_daily_limit: Option<u64>,
    subscriber_registry: Option<PathBuf>,
    captcha: Option<String>,
    telegram_token: Option<String>,
    telegram_api_url: Option<String>,
    zalo_app_id: Option<String>,
    zalo_oa_secret: Option<String>,
    zalo_access_token: Option<String>,
    zalo_api_url: Option<String>,
    telegram_webhook_secret: Option<String>,
    zalo_refresh_token: Option<String>,
    zalo_app_secret: Option<String>,
    zalo_oauth_url: Option<String>,
    office_name: Option<String>,
    office_phone: Option<String>,
    office_email: Option<String>,
    portal_signin: Option<String>,
    backup_every_hours: Option<u64>,
    backup_keep: Option<usize>,
    trust_proxy: Option<String>,
    max_json_bytes: Option<usize>,
    metrics_token: Option<String>,
    backup_passphrase: Option<String>,
}

/// A service's base URL as set, or `default`, without a trailing slash.
fn base_url(value: Option<String>, default: &str) -> String {
    value
        .as_deref()
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_string()
}

/// An on/off setting that is on unless set otherwise.
fn switch(name: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().unwrap_or("on") {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(ConfigError::Invalid {
            name,
            message: format!("'{other}' is not on or off"),
        }),
    }
}

/// Reads the SMS gateway's settings (taking its part of the file's);
/// the provider's own keys are required when it is selected.
fn sms_settings(
    provider: SmsProvider,
    pick: &impl Fn(&str, Option<String>) -> Option<String>,
    file: &mut FileConfig,
) -> Result<SmsSettings, ConfigError> {
    let required = |name: &'static str, v: Option<String>, needed: bool| match v {
        Some(v) => Ok(v),
        None if needed => Err(ConfigError::Invalid {
            name,
            message: format!("required when MOTCUA_SMS_PROVIDER={}", provider.name()),
        }),
        None => Ok(String::new()),
    };
    let esms = provider == SmsProvider::Esms;
    let speed = provider == SmsProvider::SpeedSms;
    let unicode = switch(
        "MOTCUA_SMS_UNICODE",
        pick("MOTCUA_SMS_UNICODE", file.sms_unicode.take()),
    )?;
    let callback_secret = pick(
        "MOTCUA_SMS_CALLBACK_SECRET",
        file.sms_callback_secret.take(),
    );
    if let Some(s) = &callback_secret
        && (s.len() < 16
            || s.len() > 128
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(ConfigError::Invalid {
            name: "MOTCUA_SMS_CALLBACK_SECRET",
            message: "use 16 to 128 characters among A-Z, a-z, 0-9, _ and -".into(),
        });
    }
    let daily_limit = match pick(
        "MOTCUA_SMS_DAILY_LIMIT",
        file.sms_daily_limit.take().map(|v| v.to_string()),
    ) {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
            name: "MOTCUA_SMS_DAILY_LIMIT",
            message: format!("'{v}' is not a number of segments"),
        })?),
    };
    Ok(SmsSettings {
        esms_api_key: required(
            "MOTCUA_ESMS_API_KEY",
            pick("MOTCUA_ESMS_API_KEY", file.esms_api_key.take()),
            esms,
        )?,
        esms_secret_key: required(
            "MOTCUA_ESMS_SECRET_KEY",
            pick("MOTCUA_ESMS_SECRET_KEY", file.esms_secret_key.take()),
            esms,
        )?,
        esms_brandname: required(
            "MOTCUA_ESMS_BRANDNAME",
            pick("MOTCUA_ESMS_BRANDNAME", file.esms_brandname.take()),
            esms,
        )?,
        esms_url: pick("MOTCUA_ESMS_URL", file.esms_url.take())
            .unwrap_or_else(|| crate::sms::esms::DEFAULT_URL.into()),
        speedsms_token: required(
            "MOTCUA_SPEEDSMS_TOKEN",
            pick("MOTCUA_SPEEDSMS_TOKEN", file.speedsms_token.take()),
            speed,
        )?,
        speedsms_sender: pick("MOTCUA_SPEEDSMS_SENDER", file.speedsms_sender.take()),
        speedsms_url: pick("MOTCUA_SPEEDSMS_URL", file.speedsms_url.take())
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| crate::sms::speedsms::DEFAULT_URL.into()),
        unicode,
        callback_secret,
        daily_limit,
    })
}

impl Config {
    /// Load with an explicit config file (from `--config`), or the default
    /// `<data dir>/motcua.toml` when it exists.
    pub fn load(config_file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(config_file, |k| std::env::var(k).ok())
    }

    pub fn load_from(
        config_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let data_dir_env = env("MOTCUA_DATA_DIR").map(PathBuf::from);
        let file_path = match config_file {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let dd = data_dir_env
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("./data"));
                let p = dd.join("motcua.toml");
                p.exists().then_some(p)
            }
        };
        let mut file = match &file_path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: p.clone(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };
        let pick = |var: &str, file: Option<String>| env(var).or(file);

        let data_dir = data_dir_env
            .or(file.data_dir.take())
            .unwrap_or_else(|| PathBuf::from("./data"));
        let listen_s = pick("MOTCUA_LISTEN", file.listen.take()).unwrap_or("127.0.0.1:8080".into());
        let listen: SocketAddr = listen_s.parse().map_err(|_| ConfigError::Invalid {
            name: "MOTCUA_LISTEN",
            message: format!("'{listen_s}' is not an address like 127.0.0.1:8080"),
        })?;
        let public_url = pick("MOTCUA_PUBLIC_URL", file.public_url.take())
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        let sms_provider = match pick("MOTCUA_SMS_PROVIDER", file.sms_provider.take())
            .unwrap_or("outbox".into())
            .as_str()
        {
            "outbox" => SmsProvider::Outbox,
            "http" => SmsProvider::Http,
            "esms" => SmsProvider::Esms,
            "speedsms" => SmsProvider::SpeedSms,
            other => {
                return Err(ConfigError::Invalid {
                    name: "MOTCUA_SMS_PROVIDER",
                    message: format!("'{other}' is not one of: outbox, http, esms, speedsms"),
                });
            }
        };
        let sms_http_url = pick("MOTCUA_SMS_HTTP_URL", file.sms_http_url.take());
        if sms_provider == SmsProvider::Http && sms_http_url.is_none() {
            return Err(ConfigError::Invalid {
                name: "MOTCUA_SMS_HTTP_URL",
                message: "required when MOTCUA_SMS_PROVIDER=http".into(),
            });
        }
        let sms = sms_settings(sms_provider, &pick, &mut file)?;
        let captcha = switch("MOTCUA_CAPTCHA", pick("MOTCUA_CAPTCHA", file.captcha))?;
        let telegram_webhook_secret = pick(
            "MOTCUA_TELEGRAM_WEBHOOK_SECRET",
            file.telegram_webhook_secret,
        );
        if let Some(s) = &telegram_webhook_secret
            && (s.len() > 256
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(ConfigError::Invalid {
                name: "MOTCUA_TELEGRAM_WEBHOOK_SECRET",
                message: "use 1 to 256 characters among A-Z, a-z, 0-9, _ and - (Telegram's rule)"
                    .into(),
            });
        }
        let max_json_bytes = match pick(
            "MOTCUA_MAX_JSON_BYTES",
            file.max_json_bytes.map(|v| v.to_string()),
        ) {
            None => 65_536,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1024 => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "MOTCUA_MAX_JSON_BYTES",
                        message: format!("'{v}' is not a number of bytes (at least 1024)"),
                    });
                }
            },
        };
        let portal_signin = match pick("MOTCUA_PORTAL_SIGNIN", file.portal_signin) {
            None => crate::helpdesk::PortalSignin::default(),
            Some(v) => {
                crate::helpdesk::PortalSignin::parse(&v).ok_or_else(|| ConfigError::Invalid {
                    name: "MOTCUA_PORTAL_SIGNIN",
                    message: format!("'{v}' is not account, vneid or both"),
                })?
            }
        };
        let metrics_token = pick("MOTCUA_METRICS_TOKEN", file.metrics_token);
        let database_url =
            pick("MOTCUA_DATABASE_URL", file.database_url).filter(|u| !u.trim().is_empty());
        if let Some(u) = &database_url
            && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                name: "MOTCUA_DATABASE_URL",
                message: "expected postgres://user:pass@host:port/db".into(),
            });
        }
        let backup_passphrase = pick("MOTCUA_BACKUP_PASSPHRASE", file.backup_passphrase);
        let argon2_m_kib = env("MOTCUA_ARGON2_M_KIB")
            .and_then(|v| v.parse().ok())
            .unwrap_or(19_456);
        Ok(Config {
            data_dir,
            database_url,
            listen,
            public_url,
            sms_provider,
            sms_http_url,
            sms,
            subscriber_registry: env("MOTCUA_SUBSCRIBER_REGISTRY")
                .map(PathBuf::from)
                .or(file.subscriber_registry),
            captcha,
            telegram_token: pick("MOTCUA_TELEGRAM_TOKEN", file.telegram_token),
            telegram_api_url: base_url(
                pick("MOTCUA_TELEGRAM_API_URL", file.telegram_api_url),
                "https://api.telegram.org",
            ),
            zalo_app_id: pick("MOTCUA_ZALO_APP_ID", file.zalo_app_id),
            zalo_oa_secret: pick("MOTCUA_ZALO_OA_SECRET", file.zalo_oa_secret),
            zalo_access_token: pick("MOTCUA_ZALO_ACCESS_TOKEN", file.zalo_access_token),
            zalo_api_url: base_url(
                pick("MOTCUA_ZALO_API_URL", file.zalo_api_url),
                "https://openapi.zalo.me",
            ),
            telegram_webhook_secret,
            zalo_refresh_token: pick("MOTCUA_ZALO_REFRESH_TOKEN", file.zalo_refresh_token),
            zalo_app_secret: pick("MOTCUA_ZALO_APP_SECRET", file.zalo_app_secret),
            zalo_oauth_url: base_url(
                pick("MOTCUA_ZALO_OAUTH_URL", file.zalo_oauth_url),
                "https://oauth.zaloapp.com",
            ),
            office_name: pick("MOTCUA_OFFICE_NAME", file.office_name).unwrap_or(
                "Trung tâm Phục vụ hành chính công và Kiểm soát thủ tục hành chính tỉnh Hưng Yên"
                    .into(),
            ),
            office_phone: pick("MOTCUA_OFFICE_PHONE", file.office_phone)
                .unwrap_or("0221.3856789".into()),
            office_email: pick("MOTCUA_OFFICE_EMAIL", file.office_email)
                .unwrap_or("motcuahy@gmail.com".into()),
            portal_signin,
            argon2_m_kib,
            backup_every_hours: pick(
                "MOTCUA_BACKUP_EVERY_HOURS",
                file.backup_every_hours.map(|v| v.to_string()),
            )
            .and_then(|v| v.parse().ok())
            .unwrap_or(24),
            backup_keep: pick(
                "MOTCUA_BACKUP_KEEP",
                file.backup_keep.map(|v| v.to_string()),
            )
            .and_then(|v| v.parse().ok())
            .unwrap_or(7),
            max_json_bytes,
            metrics_token,
            backup_passphrase,
            trust_proxy: matches!(
                pick("MOTCUA_TRUST_PROXY", file.trust_proxy).as_deref(),
                Some("on" | "true" | "1")
            ),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("motcua.redb")
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    /// A config for tests and benches: everything under `data_dir`, port 0.
    pub fn for_tests(data_dir: &Path) -> Config {
        let mut c = Self::load_from(None, |k| match k {
            "MOTCUA_DATA_DIR" => Some(data_dir.display().to_string()),
            "MOTCUA_LISTEN" => Some("127.0.0.1:0".into()),
            _ => None,
        })
        .unwrap_or_else(|_| unreachable!("test defaults are valid"));
        c.argon2_m_kib = 1024;
        c.backup_every_hours = 0;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_a_demo() {
        let c = Config::load_from(None, |_| None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.sms_provider, SmsProvider::Outbox);
        assert!(c.captcha);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn env_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9000\"\npublic_url = \"https://a.vn/\"\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&f), |k| {
            (k == "MOTCUA_LISTEN").then(|| "0.0.0.0:7000".to_string())
        })
        .unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:7000");
        assert_eq!(c.public_url, "https://a.vn");
    }

    #[test]
    fn telegram_webhook_secret_follows_telegrams_rule() {
        let with = |v: &str| {
            let v = v.to_string();
            Config::load_from(None, move |k| {
                (k == "MOTCUA_TELEGRAM_WEBHOOK_SECRET").then(|| v.clone())
            })
        };
        assert!(with("bi-mat_Webhook-123").is_ok());
        assert!(with("có dấu").is_err());
        assert!(with(&"a".repeat(257)).is_err());
    }

    #[test]
    fn portal_signin_is_read_from_file_and_env() {
        use crate::helpdesk::PortalSignin;
        assert_eq!(
            Config::load_from(None, |_| None).unwrap().portal_signin,
            PortalSignin::Account
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "portal_signin = \"both\"\n").unwrap();
        assert_eq!(
            Config::load_from(Some(&f), |_| None).unwrap().portal_signin,
            PortalSignin::Both
        );
        let env = |v: &'static str| move |k: &str| (k == "MOTCUA_PORTAL_SIGNIN").then(|| v.into());
        assert_eq!(
            Config::load_from(Some(&f), env("vneid"))
                .unwrap()
                .portal_signin,
            PortalSignin::Vneid
        );
        assert!(Config::load_from(None, env("VNeID only")).is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(
            Config::load_from(None, |k| (k == "MOTCUA_SMS_PROVIDER").then(|| "x".into())).is_err()
        );
        assert!(
            Config::load_from(None, |k| (k == "MOTCUA_SMS_PROVIDER")
                .then(|| "http".into()))
            .is_err()
        );
        assert!(
            Config::load_from(None, |k| (k == "MOTCUA_LISTEN").then(|| "nope".into())).is_err()
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "unknown_key = 1\n").unwrap();
        assert!(Config::load_from(Some(&f), |_| None).is_err());
    }
}
