//! Configuration errors that name their place: file, line and column.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a config file, with where it is and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why a config could not become a plan. Every variant names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The individual problems (empty for a read error).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

fn render(path: &Path, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}:{}:{}: {}", path.display(), p.line, p.column, p.message))
        .collect();
    lines.join("\n")
}

/// Collects problems while validating, turning byte spans into line:column.
/// A problem in `[defaults]` is found once for every target that inherits it; it is listed
/// once, but still counted each time, so every target it spoils is refused.
pub struct Problems<'a> {
    source: &'a str,
    pub list: Vec<Problem>,
    /// Things that work but should not be so (a key file others can read): shown by
    /// `check-config` and logged at load, never a refusal.
    pub warnings: Vec<Problem>,
    listed: HashSet<(usize, usize, String)>,
    found: usize,
}

impl<'a> Problems<'a> {
    pub fn new(source: &'a str) -> Self {
        Problems {
            source,
            list: Vec::new(),
            warnings: Vec::new(),
            listed: HashSet::new(),
            found: 0,
        }
    }

    /// Records a problem at the start of `span`.
    pub fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.source, span.start);
        let message = message.into();
        self.found += 1;
        if self.listed.insert((line, column, message.clone())) {
            self.list.push(Problem {
                line,
                column,
                message,
            });
        }
    }

    /// Records a warning at the start of `span` (once per place and message).
    pub fn warn(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.source, span.start);
        let w = Problem {
            line,
            column,
            message: message.into(),
        };
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// Problems found so far, repeats included: compare before and after a step to learn
    /// whether that step found any.
    pub fn count(&self) -> usize {
        self.found
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let s = "a = 1\nbé = 2\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 6), (2, 1));
        assert_eq!(line_col(s, 9), (2, 3));
        assert_eq!(line_col(s, 1000), (3, 1));
    }
}
