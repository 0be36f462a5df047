//! The provider profiles' names (`profile = "..."`); their tables live in `src/profile`.

closed! {
    /// Which table reads the body (`profile = "..."`).
    pub enum Profile / ALL {
        Generic = "generic",
        Alipay = "alipay",
        WechatpayV3 = "wechatpay_v3",
        Stripe = "stripe",
        EvmJsonrpc = "evm_jsonrpc",
        SolanaJsonrpc = "solana_jsonrpc",
    }
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        Profile::from_name(s)
    }

    /// A chain node's profile (JSON-RPC): the ones the `rpc` check can run with.
    pub fn is_chain(self) -> bool {
        matches!(self, Profile::EvmJsonrpc | Profile::SolanaJsonrpc)
    }
}
