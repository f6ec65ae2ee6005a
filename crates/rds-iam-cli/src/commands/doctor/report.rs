//! The doctor's report: each check's status, summary and evidence, the ranked causes of a refused login, and how
//! all of it reads as text (the JSON is the same structure, serialized).

use serde::Serialize;

use super::causes::Cause;
use crate::target::TargetArgs;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    /// Not a verdict: what doctor can determine but not check (the policy the identity needs).
    Info,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Info => "INFO",
        }
    }
}

/// What a check says about the findings: its status, one line of summary, and the evidence.
#[derive(Debug, Clone)]
pub(super) struct Verdict {
    pub(super) status: Status,
    pub(super) summary: String,
    pub(super) evidence: Vec<String>,
}

impl Verdict {
    /// A verdict; a summary of several lines (an error listing every place it looked) keeps its first line, the
    /// others become evidence.
    pub(super) fn new(status: Status, summary: impl Into<String>) -> Verdict {
        let summary: String = summary.into();
        let mut lines = summary.lines().map(str::trim_end).filter(|l| !l.trim().is_empty());
        Verdict {
            status,
            summary: lines.next().unwrap_or_default().to_owned(),
            evidence: lines.map(|l| l.trim().to_owned()).collect(),
        }
    }

    pub(super) fn with(mut self, evidence: impl Into<String>) -> Verdict {
        self.evidence.push(evidence.into());
        self
    }

    /// A pass becomes a warning; any other status stays.
    pub(super) fn warn_if_passed(&mut self) {
        if self.status == Status::Pass {
            self.status = Status::Warn;
        }
    }
}

/// One check in the report: its name and verdict.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Check {
    name: &'static str,
    status: Status,
    summary: String,
    evidence: Vec<String>,
}

impl Check {
    pub(super) fn new(name: &'static str, verdict: Verdict) -> Check {
        Check {
            name,
            status: verdict.status,
            summary: verdict.summary,
            evidence: verdict.evidence,
        }
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    hostname: String,
    port: u16,
    username: String,
    checks: Vec<Check>,
    /// On a refused login: the likely causes, most likely first (each serialized as its text).
    causes: Vec<Cause>,
    pub(super) ok: bool,
}

impl Report {
    /// The report on `target`: ok when no check failed.
    pub(super) fn new(target: &TargetArgs, checks: Vec<Check>, causes: Vec<Cause>) -> Report {
        let ok = checks.iter().all(|c| c.status != Status::Fail);
        Report {
            hostname: target.hostname().to_owned(),
            port: target.port,
            username: target.username.clone(),
            checks,
            causes,
            ok,
        }
    }

    /// The report for people: one numbered line per check with its evidence below, the causes, the verdict.
    pub(super) fn text(&self) -> String {
        let mut out = format!(
            "rds-iam doctor: {}:{} as {}\n\n",
            self.hostname, self.port, self.username
        );
        for (i, check) in self.checks.iter().enumerate() {
            out.push_str(&format!(
                "{:>2}. {} {:<12}{}\n",
                i + 1,
                check.status.label(),
                check.name,
                check.summary
            ));
            for line in &check.evidence {
                out.push_str(&format!("{:22}{line}\n", ""));
            }
        }
        if !self.causes.is_empty() {
            out.push_str("\nThe server refused the token. Likely causes, most likely first:\n");
            for (i, cause) in self.causes.iter().enumerate() {
                out.push_str(&format!("{:>2}. {cause}\n", i + 1));
            }
        }
        let failed = self.checks.iter().filter(|c| c.status == Status::Fail).count();
        let warned = self.checks.iter().filter(|c| c.status == Status::Warn).count();
        out.push_str(&match (failed, warned) {
            (0, 0) => "\nAll checks passed.\n".to_owned(),
            (0, w) => format!("\nNo check failed; {w} warning{}.\n", if w == 1 { "" } else { "s" }),
            (n, _) => format!("\n{n} check{} failed.\n", if n == 1 { "" } else { "s" }),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_report() {
        let report = Report {
            hostname: "h".into(),
            port: 3306,
            username: "app".into(),
            checks: vec![
                Check::new("dns", Verdict::new(Status::Pass, "h → 10.0.0.1")),
                Check::new("tcp", Verdict::new(Status::Fail, "refused").with("security group")),
            ],
            causes: vec![Cause::DbNotFound],
            ok: false,
        };
        assert_eq!(
            report.text(),
            "rds-iam doctor: h:3306 as app\n\n 1. PASS dns         h → 10.0.0.1\n 2. FAIL tcp         refused\n\
             \x20                     security group\n\nThe server refused the token. Likely causes, most likely \
             first:\n 1. the DB was not found with the RDS API in this region and account (see rds-api)\n\n1 check \
             failed.\n"
        );
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(
            json["causes"][0],
            "the DB was not found with the RDS API in this region and account (see rds-api)"
        );
        assert_eq!(json["checks"][1]["evidence"][0], "security group");
    }

    #[test]
    fn a_summary_of_several_lines_keeps_its_first() {
        let verdict = Verdict::new(
            Status::Fail,
            "no AWS credentials found; looked in:\n  - env\n\n  - profile\n",
        );
        assert_eq!(verdict.summary, "no AWS credentials found; looked in:");
        assert_eq!(verdict.evidence, ["- env", "- profile"]);
    }
}
