//! The languages payprobe speaks (`[server] lang`, `--lang`, `?lang=`).

closed! {
    /// A language of the catalogue (`src/lang`): English, Simplified Chinese.
    #[derive(Default)]
    pub enum Lang / ALL {
        #[default]
        En = "en",
        ZhCn = "zh-CN",
    }
}

impl Lang {
    /// Accepts `en`, `zh`, `zh-CN`, `zh_CN`, `zh-Hans` (case-insensitive).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            "zh" | "zh-cn" | "zh-hans" | "zh-hans-cn" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// `en or zh-CN`, for messages; `quoted` writes each as a TOML string (`"en"`).
    pub fn alternatives(quoted: bool) -> String {
        let names: Vec<String> = Lang::ALL
            .iter()
            .map(|l| {
                if quoted {
                    format!("{:?}", l.as_str())
                } else {
                    l.as_str().to_string()
                }
            })
            .collect();
        super::or_list(&names.iter().map(String::as_str).collect::<Vec<_>>())
    }
}
