//! Recording metadata (RFC 7865): who took part in the recorded call and which stream carries
//! whom. Elements are matched by local name, whatever namespace or prefix a client used;
//! identifiers are read from `participant_id`/`stream_id` or, as some clients write them,
//! `id`; a participant's streams come from `participantstreamassoc` or from `send`/`recv`
//! inside the participant. Unknown elements are ignored; a document type declaration is refused.

use roxmltree::{Document, Node};

use super::{MAX_BODY, SiprecError};

/// Participants and streams read at most (a call has a handful).
const MAX_ITEMS: usize = 64;

/// Someone in the recorded call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Participant {
    pub id: String,
    /// Their address (`sip:+14155550101@example.com`, `tel:+1…`), as given.
    pub aor: Option<String>,
    /// Their display name, if given.
    pub name: Option<String>,
    /// Ids of the streams that carry what they say.
    pub sends: Vec<String>,
    /// Ids of the streams they hear.
    pub receives: Vec<String>,
}

/// One media stream of the recording, matched to the SDP by its label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    pub id: String,
    pub label: Option<String>,
}

/// What the metadata says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// In document order (the first is usually the caller).
    pub participants: Vec<Participant>,
    pub streams: Vec<Stream>,
    /// `partial` when this is an update with only what changed.
    pub partial: bool,
}

impl Metadata {
    /// Who speaks on the stream with this SDP label.
    #[must_use]
    pub fn speaker_of(&self, label: &str) -> Option<&Participant> {
        let stream = self
            .streams
            .iter()
            .find(|s| s.label.as_deref() == Some(label))?;
        self.participants
            .iter()
            .find(|p| p.sends.contains(&stream.id))
    }
}

fn attr<'a>(node: Node<'a, '_>, names: &[&str]) -> Option<&'a str> {
    node.attributes()
        .find(|a| names.contains(&a.name()))
        .map(|a| a.value().trim())
        .filter(|v| !v.is_empty())
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(name))
}

fn text_of(node: Node<'_, '_>) -> Option<String> {
    node.text()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn ids_in<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = String> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name().eq_ignore_ascii_case(name))
        .filter_map(|c| text_of(c).or_else(|| attr(c, &["stream_id", "id"]).map(str::to_owned)))
}

fn participant_mut<'m>(
    meta: &'m mut Metadata,
    id: &str,
) -> Result<&'m mut Participant, SiprecError> {
    if let Some(i) = meta.participants.iter().position(|p| p.id == id) {
        return Ok(&mut meta.participants[i]);
    }
    if meta.participants.len() >= MAX_ITEMS {
        return Err(SiprecError::Metadata("too many participants".into()));
    }
    meta.participants.push(Participant {
        id: id.to_owned(),
        ..Participant::default()
    });
    Ok(meta.participants.last_mut().expect("just pushed"))
}

/// Reads recording metadata.
pub fn parse_metadata(xml: &[u8]) -> Result<Metadata, SiprecError> {
    if xml.len() > MAX_BODY {
        return Err(SiprecError::TooLarge(MAX_BODY));
    }
    let text = std::str::from_utf8(xml).map_err(|_| SiprecError::Metadata("not UTF-8".into()))?;
    let doc = Document::parse(text).map_err(|e| SiprecError::Metadata(e.to_string()))?;
    let root = doc.root_element();
    if !root.tag_name().name().eq_ignore_ascii_case("recording") {
        return Err(SiprecError::Metadata(format!(
            "the root element is <{}>, not <recording>",
            root.tag_name().name()
        )));
    }
    let mut meta = Metadata::default();
    for node in root.descendants().filter(Node::is_element) {
        match node.tag_name().name().to_ascii_lowercase().as_str() {
            "datamode" => {
                meta.partial = text_of(node).is_some_and(|m| m.eq_ignore_ascii_case("partial"));
            }
            "participant" => {
                let Some(id) = attr(node, &["participant_id", "id"]) else {
                    continue;
                };
                let name_id = child(node, "nameID");
                let aor = name_id
                    .and_then(|n| attr(n, &["aor"]).map(str::to_owned))
                    .or_else(|| child(node, "aor").and_then(text_of));
                let name = name_id
                    .and_then(|n| child(n, "name"))
                    .or_else(|| child(node, "name"))
                    .and_then(text_of);
                let sends: Vec<String> = ids_in(node, "send").collect();
                let receives: Vec<String> = ids_in(node, "recv").collect();
                let p = participant_mut(&mut meta, id)?;
                p.aor = p.aor.take().or(aor);
                p.name = p.name.take().or(name);
                p.sends.extend(sends);
                p.receives.extend(receives);
            }
            "participantstreamassoc" => {
                let Some(id) = attr(node, &["participant_id", "id"]) else {
                    continue;
                };
                let sends: Vec<String> = ids_in(node, "send").collect();
                let receives: Vec<String> = ids_in(node, "recv").collect();
                let p = participant_mut(&mut meta, id)?;
                p.sends.extend(sends);
                p.receives.extend(receives);
            }
            "stream" => {
                let Some(id) = attr(node, &["stream_id", "id"]) else {
                    continue;
                };
                let label = child(node, "label").and_then(text_of);
                if let Some(s) = meta.streams.iter_mut().find(|s| s.id == id) {
                    s.label = s.label.take().or(label);
                } else if meta.streams.len() < MAX_ITEMS {
                    meta.streams.push(Stream {
                        id: id.to_owned(),
                        label,
                    });
                } else {
                    return Err(SiprecError::Metadata("too many streams".into()));
                }
            }
            _ => {}
        }
    }
    for p in &mut meta.participants {
        p.sends.dedup();
        p.receives.dedup();
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As RFC 7865 writes it.
    const STANDARD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <group group_id="7+OTCyoxTmqmqyA/1weDAg==">
    <associate-time>2026-12-01T09:00:00Z</associate-time>
  </group>
  <session session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <sipSessionID>ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f2099600ef2</sipSessionID>
    <group-ref>7+OTCyoxTmqmqyA/1weDAg==</group-ref>
  </session>
  <participant participant_id="srfBElmCRp2QB23b7Mpk0w==">
    <nameID aor="sip:+14155550101@carrier.example.com">
      <name xml:lang="en">Maria Lopez</name>
    </nameID>
  </participant>
  <participant participant_id="zSfPoSvdSDCmU3A3TRDxAw==">
    <nameID aor="sip:201@pbx.example.com"/>
  </participant>
  <stream stream_id="UAAMm5GRQKSCMVvLyl4rFw==" session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <label>96</label>
  </stream>
  <stream stream_id="i1Pz3to5hGk8fuXl+PbwCw==" session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <label>97</label>
  </stream>
  <participantstreamassoc participant_id="srfBElmCRp2QB23b7Mpk0w==">
    <send>UAAMm5GRQKSCMVvLyl4rFw==</send>
    <recv>i1Pz3to5hGk8fuXl+PbwCw==</recv>
  </participantstreamassoc>
  <participantstreamassoc participant_id="zSfPoSvdSDCmU3A3TRDxAw==">
    <send>i1Pz3to5hGk8fuXl+PbwCw==</send>
    <recv>UAAMm5GRQKSCMVvLyl4rFw==</recv>
  </participantstreamassoc>
</recording>"#;

    #[test]
    fn the_standard_form_says_who_is_on_which_stream() {
        let m = parse_metadata(STANDARD.as_bytes()).expect("reads");
        assert!(!m.partial);
        assert_eq!(m.participants.len(), 2);
        assert_eq!(m.participants[0].name.as_deref(), Some("Maria Lopez"));
        let caller = m.speaker_of("96").expect("stream 96 has a speaker");
        assert_eq!(
            caller.aor.as_deref(),
            Some("sip:+14155550101@carrier.example.com")
        );
        let agent = m.speaker_of("97").expect("stream 97 has a speaker");
        assert_eq!(agent.aor.as_deref(), Some("sip:201@pbx.example.com"));
        assert!(m.speaker_of("98").is_none());
    }

    #[test]
    fn prefixes_short_ids_and_streams_inside_participants_read_the_same() {
        // A prefixed namespace without its version, `id` attributes, and the participant's
        // streams given inside it, as some session border controllers write it.
        let xml = r#"<tns:recording xmlns:tns="urn:ietf:params:xml:ns:recording">
          <tns:dataMode>partial</tns:dataMode>
          <tns:participant id="p1"><tns:nameID aor="+14155550101"/><tns:send>s1</tns:send></tns:participant>
          <tns:participant id="p2"><tns:nameID aor="sip:agent@example.com"/><tns:send>s2</tns:send></tns:participant>
          <tns:stream id="s1"><tns:label>caller</tns:label></tns:stream>
          <tns:stream id="s2"><tns:label>callee</tns:label></tns:stream>
          <other:vendor xmlns:other="urn:example:vendor"><other:callData>x</other:callData></other:vendor>
        </tns:recording>"#;
        let m = parse_metadata(xml.as_bytes()).expect("reads");
        assert!(m.partial);
        assert_eq!(
            m.speaker_of("caller").and_then(|p| p.aor.as_deref()),
            Some("+14155550101")
        );
        assert_eq!(
            m.speaker_of("callee").and_then(|p| p.aor.as_deref()),
            Some("sip:agent@example.com")
        );
    }

    #[test]
    fn what_is_not_recording_metadata_is_refused_without_panicking() {
        for bad in [
            &b""[..],
            b"<html/>",
            b"<recording>",
            b"\xff\xfe<recording/>",
            b"<!DOCTYPE r [<!ENTITY a \"aaaa\">]><recording>&a;</recording>",
        ] {
            assert!(
                parse_metadata(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_metadata(&vec![b' '; MAX_BODY + 1]).is_err());
        let many: String = (0..=MAX_ITEMS)
            .map(|i| format!("<participant participant_id=\"p{i}\"/>"))
            .collect();
        assert!(parse_metadata(format!("<recording>{many}</recording>").as_bytes()).is_err());
        // Every prefix of a real document reads or is refused; none panics.
        for cut in 0..STANDARD.len() {
            let _ = parse_metadata(&STANDARD.as_bytes()[..cut]);
        }
    }
}

/// The user part of a SIP or tel URI as SRCs write it (`sip:+15551234567@host;user=phone`,
/// `<sips:201@pbx>`, `tel:+1555…`, or a bare `alice@host`): the number or extension that
/// names a party.
#[must_use]
pub fn uri_user(uri: &str) -> Option<&str> {
    let uri = uri.trim().trim_start_matches('<');
    let uri = uri.split('>').next().unwrap_or(uri);
    let rest = ["sips:", "sip:", "tel:"]
        .iter()
        .find_map(|scheme| {
            uri.get(..scheme.len())
                .filter(|s| s.eq_ignore_ascii_case(scheme))
                .map(|_| &uri[scheme.len()..])
        })
        .unwrap_or(uri);
    let user = rest.split(['@', ';', '?']).next().unwrap_or(rest).trim();
    (!user.is_empty()).then_some(user)
}

#[cfg(test)]
mod uri_tests {
    use super::uri_user;

    #[test]
    fn the_user_part_is_what_names_a_party() {
        assert_eq!(
            uri_user("sip:+15551234567@carrier.example;user=phone"),
            Some("+15551234567")
        );
        assert_eq!(uri_user("<sips:201@pbx.example>"), Some("201"));
        assert_eq!(
            uri_user("tel:+15551234567;phone-context=x"),
            Some("+15551234567")
        );
        assert_eq!(uri_user("SIP:alice@example.com"), Some("alice"));
        assert_eq!(uri_user("alice@example.com"), Some("alice"));
        assert_eq!(uri_user("sip:@host"), None);
        assert_eq!(uri_user(""), None);
    }
}
