//! The signed exchange (`[targets.sign]`, issue 19): the first hop's request is signed with
//! the merchant's credentials, and the answer's signature is verified and recorded as
//! evidence (`HttpEvidence::signature`). WeChat Pay platform-certificate mode fetches
//! `/v3/certificates` when the cache is empty or old, or when an answer names a serial it
//! does not hold — at most once per `limits::PLATFORM_CERT_RETRY`, inside the probe's own
//! deadline, on a connection of its own whose timings are not the probe's.

use std::time::SystemTime;

use std::time::Instant;

use super::super::{Failure, FailureKind, Gateway, HttpEvidence, Phase, Recorder};
use super::Exchange;
use super::{read_body, Hop, HttpProber};
use crate::limits;
use crate::sign::{wechat_headers, AnswerCheck, SignSpec, Signer};

impl HttpProber {
    /// Signs the first hop's request, if the target signs; its evidence starts here.
    pub(super) async fn sign_first_hop(
        &self,
        gw: Gateway<'_>,
        x: Exchange<'_>,
        hop: &mut Hop,
        rec: &mut Recorder,
    ) -> Result<(), Failure> {
        let Some(spec) = &x.http.sign else {
            return Ok(());
        };
        if platform_due(spec, None) {
            self.refresh_platform(gw, x, spec, None).await;
            rec.restart();
        }
        hop.url = wechat_mchid(spec, hop.url.clone());
        let p = spec
            .prepare(&hop.method, &hop.url, &hop.body, SystemTime::now())
            .map_err(|e| {
                Failure::new(
                    Phase::Processing,
                    FailureKind::InternalError,
                    format!("cannot sign the request: {e}"),
                )
            })?;
        hop.method = p.method;
        hop.url = p.url;
        hop.body = p.body;
        hop.signed = p.headers;
        let h = rec.ev.http.get_or_insert_with(HttpEvidence::default);
        h.signature = Some(p.evidence);
        Ok(())
    }

    /// Verifies the answer read into `rec`, refreshing WeChat Pay platform certificates once
    /// when it names a serial payprobe does not hold (a rotation).
    pub(super) async fn verify_answer(
        &self,
        gw: Gateway<'_>,
        x: Exchange<'_>,
        answer: &hyper::HeaderMap,
        rec: &mut Recorder,
    ) {
        let Some(spec) = &x.http.sign else { return };
        let Some(h) = rec.ev.http.as_mut() else {
            return;
        };
        let Some(mut ev) = h.signature.take() else {
            return;
        };
        spec.verify(
            answer,
            &h.body,
            h.body_truncated,
            SystemTime::now(),
            &mut ev,
        );
        let unknown = ev
            .answer_serial
            .clone()
            .filter(|_| ev.answer == AnswerCheck::UnknownKey);
        if unknown.is_some() && platform_due(spec, unknown.as_deref()) {
            self.refresh_platform(gw, x, spec, unknown.as_deref()).await;
            ev.answer = AnswerCheck::NotChecked;
            (ev.problem, ev.answer_serial) = (None, None);
            ev.keys_tried.clear();
            let h = rec.ev.http.get_or_insert_with(HttpEvidence::default);
            spec.verify(
                answer,
                &h.body,
                h.body_truncated,
                SystemTime::now(),
                &mut ev,
            );
        }
        if let Signer::Wechat(w) = &*spec.signer {
            if let Some(p) = &w.platform {
                let mut cache = crate::sync::lock(&p.cache, "wechatpay platform certificates");
                ev.new_platform_serial = cache.new_serial.take();
            }
        }
        if let Some(h) = rec.ev.http.as_mut() {
            h.signature = Some(ev);
        }
    }

    /// `GET /v3/certificates`, signed, on a connection of its own; what it brings is
    /// installed when its own signature verifies with the certificates it carries.
    async fn refresh_platform(
        &self,
        gw: Gateway<'_>,
        x: Exchange<'_>,
        spec: &SignSpec,
        unknown: Option<&str>,
    ) {
        let Signer::Wechat(w) = &*spec.signer else {
            return;
        };
        let Some(platform) = &w.platform else { return };
        {
            let mut cache = crate::sync::lock(&platform.cache, "wechatpay platform certificates");
            cache.fetched_at = Some(Instant::now());
            cache.asked_for = unknown.map(str::to_string);
        }
        let mut hop = base_hop(gw);
        hop.url.set_path(crate::sign::wechatpay::CERTIFICATES_PATH);
        hop.url.set_query(None);
        let outcome = async {
            let p = spec
                .prepare(&hop.method, &hop.url, &hop.body, SystemTime::now())
                .map_err(|e| format!("cannot sign: {e}"))?;
            hop.signed = p.headers;
            let mut scratch = Recorder::new(gw.name, self.check);
            let head = self
                .one_hop(gw, x, &hop, &mut scratch)
                .await
                .map_err(|f| f.detail)?;
            let headers = wechat_headers(head.0.headers());
            read_body(head, x.http.max_body_bytes, &mut scratch)
                .await
                .map_err(|f| f.detail)?;
            let body = scratch.ev.http.map(|h| h.body).unwrap_or_default();
            w.install_certificates(&headers, &body)
        }
        .await;
        if let Err(why) = outcome {
            crate::sync::lock(&platform.cache, "wechatpay platform certificates").problem =
                Some(why);
        }
    }
}

/// The first hop of the target, before signing.
fn base_hop(gw: Gateway<'_>) -> Hop {
    Hop {
        url: gw.url.clone(),
        host: gw.host.to_string(),
        ip: gw.ip,
        port: gw.port,
        tls: gw.scheme == crate::config::Scheme::Https,
        method: hyper::Method::GET,
        body: bytes::Bytes::new(),
        dns: gw.dns.clone(),
        signed: Vec::new(),
    }
}

/// Platform certificates are due: none yet, or older than `PLATFORM_CERT_REFRESH`, or an
/// answer names a serial not held (`unknown`: a rotation). An attempt in the last
/// `PLATFORM_CERT_RETRY` holds it back, unless it is for a serial no fetch was made for yet:
/// a rotation is seen on the next answer, and a path naming bogus serials costs at most one
/// fetch a round.
fn platform_due(spec: &SignSpec, unknown: Option<&str>) -> bool {
    let Signer::Wechat(w) = &*spec.signer else {
        return false;
    };
    let Some(p) = &w.platform else { return false };
    let cache = crate::sync::lock(&p.cache, "wechatpay platform certificates");
    let Some(at) = cache.fetched_at else {
        return true;
    };
    let age = at.elapsed();
    let new_serial = unknown.is_some() && cache.asked_for.as_deref() != unknown;
    new_serial
        || (age >= limits::PLATFORM_CERT_RETRY
            && (unknown.is_some()
                || cache.certs.is_empty()
                || age >= limits::PLATFORM_CERT_REFRESH))
}

/// The `mchid` a WeChat Pay query carries is the configured merchant's (the profile's
/// default URL carries a placeholder).
fn wechat_mchid(spec: &SignSpec, mut url: url::Url) -> url::Url {
    let Signer::Wechat(w) = &*spec.signer else {
        return url;
    };
    if url.query_pairs().any(|(k, _)| k == "mchid") {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "mchid" {
                    w.mchid.clone()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url
}
