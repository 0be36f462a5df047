use super::*;

fn parse_str(s: &str) -> Result<Plan, ConfigError> {
    parse(Path::new("test.toml"), s, Path::new("."))
}
