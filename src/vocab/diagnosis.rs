//! The words of a diagnosis: cause, scope and symptom (the `cause`, `scope` and `symptom`
//! label values and JSON fields).

closed! {
    /// Why a target fails. A closed set: these are the `cause` label values.
    pub enum Cause / ALL {
        None = "none",
        Network = "network",
        Server = "server",
        ApiVersion = "api_version",
        Security = "security",
        UserInput = "user_input",
        /// The evidence matched no rule: said plainly rather than guessed.
        Unknown = "unknown",
    }
}

closed! {
    /// Where the problem is: this vantage point, one provider, or one endpoint. `none` while
    /// the target is healthy. (`global`, many vantage points agreeing, is a Prometheus
    /// recording rule across payprobe instances, not something one process can know.)
    pub enum Scope / ALL {
        None = "none",
        Local = "local",
        Provider = "provider",
        Endpoint = "endpoint",
    }
}

closed! {
    /// What the users of a payment flow would see. Several may hold at once.
    pub enum Symptom / ALL {
        TransactionFailure = "transaction_failure",
        PaymentDelay = "payment_delay",
        BalanceAnomaly = "balance_anomaly",
        NetworkInterruption = "network_interruption",
        AuthFailure = "auth_failure",
    }
}
