//! Fabric's signature-policy language.
//!
//! ```text
//! policy    := principal | gate
//! gate      := ("AND" | "OR") "(" policy ("," policy)* ")"
//!            | "OutOf" "(" integer "," policy ("," policy)* ")"
//! principal := "'" MSPID "." role "'"        role: member | admin | client | peer | orderer
//! ```
//! Gate names are case-insensitive; principals may use single or double quotes.
//! As in Fabric, every principal occurrence gets its own entry in the envelope's
//! identity list, in order of appearance, so the encoding matches Fabric's byte for byte.

use super::signature::{Rule, SignaturePolicy};
use crate::CommonError;
use crate::msp::{MspRole, Principal};

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    identities: Vec<Principal>,
}

impl<'a> Parser<'a> {
    fn err(&self, reason: impl Into<String>) -> CommonError {
        CommonError::PolicyParse {
            text: self.text.to_string(),
            reason: format!("at offset {}: {}", self.pos, reason.into()),
        }
    }

    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.text[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.text[self.pos..].chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), CommonError> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.err(format!("expected '{c}'")))
        }
    }

    fn word(&mut self) -> &'a str {
        self.skip_ws();
        let start = self.pos;
        while self.text[self.pos..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn policy(&mut self, depth: usize) -> Result<Rule, CommonError> {
        if depth > 32 {
            return Err(self.err("nested deeper than 32 levels"));
        }
        match self.peek() {
            Some('\'') | Some('"') => self.principal(),
            Some(_) => self.gate(depth),
            None => Err(self.err("unexpected end of policy")),
        }
    }

    fn principal(&mut self) -> Result<Rule, CommonError> {
        let quote = self.peek().expect("caller checked");
        self.pos += 1;
        let start = self.pos;
        let end = self.text[start..]
            .find(quote)
            .ok_or_else(|| self.err("unterminated principal"))?
            + start;
        let body = &self.text[start..end];
        self.pos = end + 1;
        let (msp, role) = body
            .rsplit_once('.')
            .ok_or_else(|| self.err(format!("principal '{body}' must be 'MSPID.role'")))?;
        if msp.is_empty() {
            return Err(self.err(format!("principal '{body}' has an empty MSP id")));
        }
        let role = MspRole::parse(role).ok_or_else(|| {
            self.err(format!(
                "unknown role '{role}' in '{body}': use member, admin, client, peer or orderer"
            ))
        })?;
        self.identities.push(Principal::role(msp, role));
        Ok(Rule::SignedBy(self.identities.len() - 1))
    }

    fn gate(&mut self, depth: usize) -> Result<Rule, CommonError> {
        let name = self.word().to_ascii_lowercase();
        let threshold = match name.as_str() {
            "and" | "or" => None,
            "outof" => Some(()),
            "" => return Err(self.err("expected AND, OR, OutOf or a quoted principal")),
            other => return Err(self.err(format!("unknown gate '{other}': use AND, OR or OutOf"))),
        };
        self.expect('(')?;
        let n = if threshold.is_some() {
            let digits = self.word();
            let n: usize = digits
                .parse()
                .map_err(|_| self.err(format!("OutOf needs a number first, got '{digits}'")))?;
            self.expect(',')?;
            Some(n)
        } else {
            None
        };
        let mut rules = vec![self.policy(depth + 1)?];
        while self.peek() == Some(',') {
            self.pos += 1;
            rules.push(self.policy(depth + 1)?);
        }
        self.expect(')')?;
        let n = match (name.as_str(), n) {
            ("and", _) => rules.len(),
            ("or", _) => 1,
            (_, Some(n)) => n,
            _ => unreachable!("gate names are checked above"),
        };
        if n > rules.len() {
            return Err(self.err(format!(
                "OutOf({n}, ...) has only {} sub-policies",
                rules.len()
            )));
        }
        Ok(Rule::NOutOf(n, rules))
    }
}

/// Parses a policy in Fabric's language.
pub fn parse(text: &str) -> Result<SignaturePolicy, CommonError> {
    let mut p = Parser {
        text,
        pos: 0,
        identities: Vec::new(),
    };
    let rule = p.policy(0)?;
    if p.peek().is_some() {
        return Err(p.err("unexpected text after the policy"));
    }
    Ok(SignaturePolicy {
        rule,
        identities: p.identities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for text in [
            "'Org1MSP.member'",
            "AND('Org1MSP.peer', 'Org2MSP.peer')",
            "OR('Org1MSP.admin', 'Org1MSP.peer', 'Org1MSP.client')",
            "OutOf(2, 'A.peer', 'B.peer', 'C.peer')",
            "AND('A.admin', OR('B.member', OutOf(1, 'C.orderer')))",
        ] {
            let p = parse(text).unwrap();
            assert_eq!(p.to_string(), text, "round trip of {text}");
            assert_eq!(parse(&p.to_string()).unwrap(), p);
        }
    }

    #[test]
    fn gates_are_case_insensitive_and_quotes_either_kind() {
        assert_eq!(
            parse("and(\"A.peer\", 'B.peer')").unwrap(),
            parse("AND('A.peer', 'B.peer')").unwrap()
        );
        assert_eq!(
            parse("outof(1, 'A.peer')").unwrap().rule,
            Rule::NOutOf(1, vec![Rule::SignedBy(0)])
        );
    }

    #[test]
    fn each_occurrence_is_its_own_identity_like_fabric() {
        let p = parse("OR('A.peer', 'A.peer')").unwrap();
        assert_eq!(p.identities.len(), 2);
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("AND('A.peer'", "expected ')'"),
            ("XOR('A.peer')", "unknown gate 'xor'"),
            ("'A.boss'", "unknown role 'boss'"),
            ("'Apeer'", "must be 'MSPID.role'"),
            ("OutOf(3, 'A.peer', 'B.peer')", "has only 2"),
            ("OutOf(x, 'A.peer')", "needs a number"),
            ("'A.peer' 'B.peer'", "unexpected text"),
            ("", "unexpected end"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
