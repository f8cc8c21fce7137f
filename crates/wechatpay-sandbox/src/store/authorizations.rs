//! Users' authorizations of a service (免确认预授权), per (service_id, sp_mchid,
//! sub_mchid, user): `UNBINDUSER` → `AVAILABLE` → `UNAVAILABLE`.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Delivery, Result, Store, insert_delivery};

/// `authorization_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum AuthorizationState {
    /// Pre-authorized; the user has not authorized yet.
    Unbinduser,
    /// The user has authorized.
    Available,
    /// The authorization ended.
    Unavailable,
}

impl AuthorizationState {
    /// The wire name.
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthorizationState::Unbinduser => "UNBINDUSER",
            AuthorizationState::Available => "AVAILABLE",
            AuthorizationState::Unavailable => "UNAVAILABLE",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "AVAILABLE" => AuthorizationState::Available,
            "UNAVAILABLE" => AuthorizationState::Unavailable,
            _ => AuthorizationState::Unbinduser,
        }
    }
}

/// One authorization.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AuthorizationRow {
    /// Service provider.
    pub(crate) sp_mchid: String,
    /// The merchant's code (unique per provider).
    pub(crate) authorization_code: String,
    /// Sub-merchant ("" for direct merchants).
    pub(crate) sub_mchid: String,
    /// Service id.
    pub(crate) service_id: String,
    /// The provider's appid.
    pub(crate) appid: String,
    /// Sub-merchant appid.
    pub(crate) sub_appid: Option<String>,
    /// The user under `appid`, once bound.
    pub(crate) openid: Option<String>,
    /// The user under `sub_appid`, once bound.
    pub(crate) sub_openid: Option<String>,
    /// State.
    pub(crate) state: AuthorizationState,
    /// `apply_permissions_token`, until the user authorizes.
    #[serde(skip)]
    pub(crate) token: Option<String>,
    /// Token expiry (unix ms, business time).
    pub(crate) token_expires_ms: Option<i64>,
    /// Where the authorization callbacks go.
    pub(crate) notify_url: Option<String>,
    /// Canonical JSON of the apply request (re-entry checks).
    #[serde(skip)]
    pub(crate) request_json: String,
    /// Last successful authorization (unix ms).
    pub(crate) success_ms: Option<i64>,
    /// Last termination (unix ms).
    pub(crate) cancel_ms: Option<i64>,
    /// Created (unix ms).
    pub(crate) created_ms: i64,
}

const COLS: &str = "sp_mchid, authorization_code, sub_mchid, service_id, appid, sub_appid, openid, sub_openid, state, token, token_expires_ms, notify_url, request_json, success_ms, cancel_ms, created_ms";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuthorizationRow> {
    Ok(AuthorizationRow {
        sp_mchid: r.get(0)?,
        authorization_code: r.get(1)?,
        sub_mchid: r.get(2)?,
        service_id: r.get(3)?,
        appid: r.get(4)?,
        sub_appid: r.get(5)?,
        openid: r.get(6)?,
        sub_openid: r.get(7)?,
        state: AuthorizationState::parse(&r.get::<_, String>(8)?),
        token: r.get(9)?,
        token_expires_ms: r.get(10)?,
        notify_url: r.get(11)?,
        request_json: r.get(12)?,
        success_ms: r.get(13)?,
        cancel_ms: r.get(14)?,
        created_ms: r.get(15)?,
    })
}

impl Store {
    /// Stores `a` unless its code is taken; returns the stored one when it is.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn insert_authorization(
        &self,
        a: &AuthorizationRow,
    ) -> Result<Option<AuthorizationRow>> {
        let inserted = self.conn().execute(
            &format!("INSERT INTO authorizations ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT (sp_mchid, authorization_code) DO NOTHING"),
            params![a.sp_mchid, a.authorization_code, a.sub_mchid, a.service_id, a.appid, a.sub_appid, a.openid, a.sub_openid, a.state.as_str(), a.token, a.token_expires_ms, a.notify_url, a.request_json, a.success_ms, a.cancel_ms, a.created_ms],
        )?;
        if inserted == 1 {
            return Ok(None);
        }
        self.authorization(&a.sp_mchid, &a.authorization_code)
    }

    /// The authorization with this code.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn authorization(&self, sp: &str, code: &str) -> Result<Option<AuthorizationRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLS} FROM authorizations WHERE sp_mchid = ?1 AND authorization_code = ?2"
            ))?
            .query_row(params![sp, code], from_row)
            .optional()?)
    }

    /// The authorization an `apply_permissions_token` was issued for.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn authorization_by_token(&self, token: &str) -> Result<Option<AuthorizationRow>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLS} FROM authorizations WHERE token = ?1"
            ))?
            .query_row(params![token], from_row)
            .optional()?)
    }

    /// The newest authorization of a user (`openid`, or `sub_openid` when `openid` is
    /// `None`) for a service of a sub-merchant.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn user_authorization(
        &self,
        sp: &str,
        sub: &str,
        service_id: &str,
        openid: Option<&str>,
        sub_openid: Option<&str>,
    ) -> Result<Option<AuthorizationRow>> {
        let (column, user) = match (openid, sub_openid) {
            (Some(o), _) => ("openid", o),
            (None, Some(s)) => ("sub_openid", s),
            (None, None) => return Ok(None),
        };
        Ok(self
            .conn()
            .prepare_cached(&format!("SELECT {COLS} FROM authorizations WHERE sp_mchid = ?1 AND sub_mchid = ?2 AND service_id = ?3 AND {column} = ?4 ORDER BY created_ms DESC, rowid DESC LIMIT 1"))?
            .query_row(params![sp, sub, service_id, user], from_row)
            .optional()?)
    }

    /// Saves a changed authorization and, optionally, queues its callback, in one
    /// transaction.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn update_authorization(
        &self,
        a: &AuthorizationRow,
        callback: Option<&Delivery>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE authorizations SET openid = ?3, sub_openid = ?4, state = ?5, token = ?6, token_expires_ms = ?7, success_ms = ?8, cancel_ms = ?9 WHERE sp_mchid = ?1 AND authorization_code = ?2",
            params![a.sp_mchid, a.authorization_code, a.openid, a.sub_openid, a.state.as_str(), a.token, a.token_expires_ms, a.success_ms, a.cancel_ms],
        )?;
        if let Some(d) = callback {
            insert_delivery(&tx, d)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The newest authorizations.
    ///
    /// # Errors
    /// SQLite failures.
    pub(crate) fn list_authorizations(&self, limit: u32) -> Result<Vec<AuthorizationRow>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {COLS} FROM authorizations ORDER BY created_ms DESC, rowid DESC LIMIT ?1"
        ))?;
        let rows = st
            .query_map(params![limit], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
