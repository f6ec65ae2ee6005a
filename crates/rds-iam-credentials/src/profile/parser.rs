//! The line grammar of one profile file: section headers, properties, continuations, sub-properties.
//!
//! This pass only splits lines; what a header means and which names are valid is decided in
//! `mod.rs`. The error phrases are those of aws-config (its test suite checks them).

use super::{FileKind, ProfileFileError, Source};

/// The only whitespace the grammar knows (aws-config is strict about this).
pub(super) const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];

/// One `[header]` occurrence and the properties under it, in file order.
pub(super) struct RawSection<'a> {
    /// The text between the brackets, untrimmed.
    pub(super) header: &'a str,
    /// `(lower-cased key, value)`; a key may repeat (the last one wins when merged).
    pub(super) properties: Vec<(String, String)>,
}

/// Why a `key = value` line is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PropertyError {
    NoEquals,
    NoName,
}

/// Splits one file into sections.
pub(super) fn parse_file<'a>(source: &Source<'a>, kind: FileKind) -> Result<Vec<RawSection<'a>>, ProfileFileError> {
    let header_example = match kind {
        FileKind::Config => "[profile NAME]",
        FileKind::Credentials => "[NAME]",
    };
    let mut sections: Vec<RawSection<'a>> = Vec::new();
    // Whether the last line defined a property that indented lines extend, and whether they are
    // sub-properties (the property's value was empty).
    let mut continuing: Option<bool> = None;
    for (index, line) in source.contents.lines().enumerate() {
        let error = |message: String| ProfileFileError::Syntax {
            path: source.path.to_path_buf(),
            line: index + 1,
            message,
        };
        if line.trim_matches(WHITESPACE).is_empty() || line.starts_with(COMMENT) {
            continue;
        }
        if line.starts_with('[') {
            let header = prepare_line(line, false)
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .ok_or_else(|| error("Profile definition must end with ']'".into()))?;
            sections.push(RawSection {
                header,
                properties: Vec::new(),
            });
            continuing = None;
            continue;
        }
        let Some(section) = sections.last_mut() else {
            return Err(error(format!(
                "Expected a profile definition: put a `{header_example}` line before the first property"
            )));
        };
        if line.starts_with(WHITESPACE) {
            let (Some(is_sub), Some((key, value))) = (continuing, section.properties.last_mut()) else {
                return Err(error(
                    "Expected a property definition, found continuation \
                     (an indented line continues the previous `key = value`)"
                        .into(),
                ));
            };
            if is_sub {
                split_property(line).map_err(|e| error(property_error(e, Some(key), "")))?;
            }
            value.push('\n');
            value.push_str(line.trim_matches(WHITESPACE));
        } else {
            let (key, value) = split_property(line).map_err(|e| error(property_error(e, None, header_example)))?;
            continuing = Some(value.is_empty());
            section.properties.push((key.to_ascii_lowercase(), value.to_owned()));
        }
    }
    Ok(sections)
}

/// Splits `key = value` (comments after whitespace removed, both sides trimmed).
pub(super) fn split_property(line: &str) -> Result<(&str, &str), PropertyError> {
    let (key, value) = prepare_line(line, true)
        .split_once('=')
        .ok_or(PropertyError::NoEquals)?;
    let key = key.trim_matches(WHITESPACE);
    if key.is_empty() {
        return Err(PropertyError::NoName);
    }
    Ok((key, value.trim_matches(WHITESPACE)))
}

/// The message for a malformed property (`parent: None`) or sub-property of `parent`.
fn property_error(error: PropertyError, parent: Option<&str>, header_example: &str) -> String {
    match (error, parent) {
        (PropertyError::NoEquals, None) => format!(
            "Expected an '=' sign defining a property: \
             a line is `{header_example}`, `key = value`, an indented continuation or a comment"
        ),
        (PropertyError::NoName, None) => "Property did not have a name: expected `key = value`".into(),
        (PropertyError::NoEquals, Some(parent)) => format!(
            "Expected an '=' sign defining a sub-property of `{parent}`: \
             indented lines under `{parent} =` are `key = value`"
        ),
        (PropertyError::NoName, Some(parent)) => {
            format!("Sub-property did not have a name: expected `key = value` under `{parent} =`")
        }
    }
}

/// Trims the line and drops a trailing comment. In property lines a comment must follow
/// whitespace (`a = b;c` keeps `;c`); in section headers it may follow anything.
fn prepare_line(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut previous_is_space = false;
    let end = line
        .char_indices()
        .find(|&(_, c)| {
            let found = COMMENT.contains(&c) && (previous_is_space || !comments_need_whitespace);
            previous_is_space = c.is_whitespace();
            found
        })
        .map_or(line.len(), |(index, _)| index);
    line[..end].trim_matches(WHITESPACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_line_comments() {
        assert_eq!(prepare_line("a = b # c # d", true), "a = b");
        assert_eq!(prepare_line("a = b#c # d", true), "a = b#c");
        assert_eq!(prepare_line("a = b\t;c", true), "a = b");
        assert_eq!(prepare_line("[p]#c", false), "[p]");
    }

    #[test]
    fn split_property_cases() {
        assert_eq!(split_property(" a = b=c "), Ok(("a", "b=c")));
        assert_eq!(split_property("a ="), Ok(("a", "")));
        assert_eq!(split_property("a b"), Err(PropertyError::NoEquals));
        assert_eq!(split_property(" = b"), Err(PropertyError::NoName));
    }
}
