//! The vocabulary: payprobe's closed sets of names, at the bottom of the module graph.
//!
//! Each enum here is a closed set whose names are public (metric label values, config
//! keywords, JSON values): checks, phases, failure kinds, causes, scopes, symptoms,
//! languages, provider profiles, sign and sink kinds. Every one is declared once through
//! `closed!`, which writes the variant list (`ALL`), the names (`as_str`), the strict
//! parser (`from_name`), the `names()` list error messages quote, and serde through the
//! same names — so a new variant is in every list, message and validator at once, and no
//! hand-copied list can drift from the enum. This module imports nothing from the crate.

/// Declares a closed enum whose variants each have one public name.
///
/// `enum Name / ALL { Variant = "name", ... }` writes the enum, `Name::ALL` (every variant in
/// declaration order; give another constant name where `ALL` means a subset, as for
/// `Phase`), `as_str`, `from_name`, `names()` (`"a, b, c"`) and `Serialize`/`Deserialize`
/// through the names.
macro_rules! closed {
    (
        $(#[$meta:meta])*
        pub enum $name:ident / $all:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const $all: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The variant's public name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The variant with exactly this name.
            pub fn from_name(s: &str) -> Option<$name> {
                match s {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// Every name, `", "`-separated, for messages that list what is accepted.
            pub fn names() -> String {
                $crate::vocab::join(&[$($text),+], ", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                $name::from_name(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} {s:?}; expected one of: {}",
                        stringify!($name),
                        $name::names()
                    ))
                })
            }
        }
    };
}

mod check;
mod diagnosis;
mod kinds;
mod lang;
mod phase;
mod profile;

pub use check::Check;
pub use diagnosis::{Cause, Scope, Symptom};
pub use kinds::{FieldType, SignKind, SinkKind};
pub use lang::Lang;
pub use phase::{FailureKind, Phase};
pub use profile::Profile;

/// `names` joined by `sep`.
pub fn join(names: &[&str], sep: &str) -> String {
    names.join(sep)
}

/// `a, b or c`: a list of alternatives for a message.
pub fn or_list(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// `a, b and c`: a list of names that all share something, for a message.
pub fn and_list(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests;
