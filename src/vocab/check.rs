//! The checks a target runs: the `check` label values and the words of `checks = [...]`.

closed! {
    /// A kind of check. The set is closed; its names are the `check` label values. In layer
    /// order: the classifier breaks ties between equal layers by this order.
    pub enum Check / ALL {
        Dns = "dns",
        Tcp = "tcp",
        Ping = "ping",
        Tls = "tls",
        Http = "http",
        ApiVersion = "api_version",
        Rpc = "rpc",
        /// A `[[notifications]]` channel's round: reads what the callback handler reported.
        /// Not a key of `checks`: a channel has it and nothing else.
        Notification = "notification",
    }
}

impl Check {
    /// The checks a target may list in `checks` (every one but `notification`).
    pub fn listable() -> impl Iterator<Item = Check> {
        Check::ALL.into_iter().filter(|c| *c != Check::Notification)
    }

    /// A check a target may list in `checks` (every one but `notification`).
    pub fn parse(s: &str) -> Option<Check> {
        Check::listable().find(|c| c.as_str() == s)
    }

    /// The names `checks` accepts, for the message that refuses another.
    pub fn listable_names() -> String {
        Check::listable()
            .map(Check::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks whose round is an HTTP exchange (`rpc` and `api_version` send a request too),
    /// so the target has HTTP phase timings.
    pub fn speaks_http(self) -> bool {
        matches!(self, Check::Http | Check::ApiVersion | Check::Rpc)
    }
}
