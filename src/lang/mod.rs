//! The language catalogue: every user-facing phrase in every language payprobe speaks.
//!
//! A diagnosis carries what its reason is made of ([`ReasonParts`]: the check, the phase,
//! the rule and its meaning, the evidence detail), never only a sentence; every output (the
//! API, the status page, incidents, alerts) says it in its language through [`say`]
//! (`classify::reason` for a whole diagnosis). The remediation hints ([`hint`]), the cause,
//! scope and symptom labels, the page's words ([`page`]), the alerts' summaries and chat
//! messages' frame ([`alerts`]) and the diagnosis's warnings ([`WarningParts`], said by
//! [`warning`]) live here too, so a phrase is translated in one place and a test can check
//! that each entry exists in both languages. The rules' meanings stay on their rows of
//! `classify::rules::RULES` (one row, both languages), and reach [`say`] through the parts.
//!
//! Details quoted from evidence (an OS error, a status line, a provider's message) stay
//! verbatim in every language. This module imports only the vocabulary.

pub mod alerts;
mod hints;
pub mod page;
mod reason;
pub(crate) mod warnings;

pub use crate::vocab::Lang;
pub use hints::hint;
pub use reason::{evidence_line, say, ReasonParts, UNMATCHED};
pub use warnings::{warning, WarningParts};

/// One phrase in each language of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub en: &'static str,
    pub zh: &'static str,
}

impl Text {
    pub const fn new(en: &'static str, zh: &'static str) -> Text {
        Text { en, zh }
    }

    /// The phrase in `lang`.
    pub fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::ZhCn => self.zh,
        }
    }
}

#[cfg(test)]
mod tests;
