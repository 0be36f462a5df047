//! Kinds named in the config: how a target signs (`[targets.sign] kind`), where alerts go
//! (`[[alerts.sinks]] kind`) and what type a required field has (`required_fields`).

closed! {
    /// Which provider's scheme (`kind` in `[targets.sign]`).
    #[derive(Default)]
    pub enum SignKind / ALL {
        #[default]
        Alipay = "alipay",
        WechatpayV3 = "wechatpay_v3",
        Stripe = "stripe",
    }
}

closed! {
    /// The kinds of sink, each with its documented wire format (see `src/alerts/sinks.rs`).
    pub enum SinkKind / ALL {
        Alertmanager = "alertmanager",
        Webhook = "webhook",
        Slack = "slack",
        DingTalk = "dingtalk",
        Feishu = "feishu",
        WeCom = "wecom",
    }
}

closed! {
    /// JSON types a required field may be declared with (`any` last: the least specific).
    pub enum FieldType / ALL {
        String = "string",
        Number = "number",
        Integer = "integer",
        Boolean = "boolean",
        Object = "object",
        Array = "array",
        Null = "null",
        Any = "any",
    }
}

impl SignKind {
    pub fn parse(s: &str) -> Option<SignKind> {
        SignKind::from_name(s)
    }
}

impl SinkKind {
    pub fn parse(s: &str) -> Option<SinkKind> {
        SinkKind::from_name(s)
    }

    /// Whether the kind has a signing scheme a `secret` is used for (`src/alerts/sinks.rs`:
    /// the webhook's `X-Payprobe-Signature`, DingTalk's and Feishu's `sign`); a secret on any
    /// other kind is refused by the config.
    pub fn signs(self) -> bool {
        matches!(
            self,
            SinkKind::Webhook | SinkKind::DingTalk | SinkKind::Feishu
        )
    }
}

impl FieldType {
    pub fn parse(s: &str) -> Option<FieldType> {
        FieldType::from_name(s)
    }
}
