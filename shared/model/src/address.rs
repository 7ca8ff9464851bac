//! Named address lists and the book that answers "what is this address?".
//!
//! The configuration names lists of networks (the office, the corporate VPN, a cloud
//! provider's ranges, Tor exit nodes), each with a [`Nature`]. Enrichment uses the book to say
//! what an alert's source address is, and the rule engine can use the same book (or the
//! allow-lists built from it) to skip or raise alerts. Parsing list text lives here too, so
//! that every loader (a local file, an S3 object, inline configuration) reads the same format.
//!
//! Look-ups are fast whatever the lists hold: networks are indexed by prefix length, so one
//! look-up costs one hash probe per distinct prefix length present, not one comparison per
//! network. A Tor exit list has a few thousand addresses and a cloud provider's ranges tens of
//! thousands of networks; both stay cheap enough to ask about every event.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Most networks one list may hold; a file past this is probably not an address list.
pub const MAX_LIST_ENTRIES: usize = 500_000;

/// What kind of place a list describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nature {
    /// The organisation's own offices and networks.
    Corporate,
    /// The organisation's VPN exits.
    Vpn,
    /// A cloud or hosting provider's ranges.
    Cloud,
    /// Known automation: an HR system's sync, a CI runner, a scanner the team runs.
    Automation,
    /// Anonymising networks: Tor exit nodes, public VPNs, open proxies.
    Anonymising,
    /// Anything else worth naming.
    Other,
}

impl Nature {
    pub const ALL: &'static [Nature] = &[
        Nature::Corporate,
        Nature::Vpn,
        Nature::Cloud,
        Nature::Automation,
        Nature::Anonymising,
        Nature::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Nature::Corporate => "corporate",
            Nature::Vpn => "vpn",
            Nature::Cloud => "cloud",
            Nature::Automation => "automation",
            Nature::Anonymising => "anonymising",
            Nature::Other => "other",
        }
    }

    /// How a list of this nature reads when it has no label of its own.
    pub fn default_label(self) -> &'static str {
        match self {
            Nature::Corporate => "corporate network",
            Nature::Vpn => "VPN",
            Nature::Cloud => "cloud or hosting provider",
            Nature::Automation => "known automation",
            Nature::Anonymising => "anonymising network",
            Nature::Other => "listed address",
        }
    }

    /// Whether the organisation itself controls addresses of this nature.
    pub fn is_trusted(self) -> bool {
        matches!(self, Nature::Corporate | Nature::Vpn | Nature::Automation)
    }
}

impl fmt::Display for Nature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Nature {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        // The British and American spellings both read naturally in a config file.
        let lower = if lower == "anonymizing" {
            "anonymising".to_string()
        } else {
            lower
        };
        Nature::ALL
            .iter()
            .copied()
            .find(|n| n.as_str() == lower)
            .ok_or_else(|| {
                let names: Vec<&str> = Nature::ALL.iter().map(|n| n.as_str()).collect();
                format!("{s:?} is not one of {}", names.join(", "))
            })
    }
}

/// One list an address was found on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddressMatch {
    /// The list's name in the configuration.
    pub list: String,
    pub nature: Nature,
    /// What the list is, as a person reads it ("corporate VPN", "Tor exit").
    pub label: String,
}

/// A list that is part of a book.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListInfo {
    name: String,
    nature: Nature,
    label: String,
    networks: usize,
}

/// Networks of one address family by prefix length, each network with the lists holding it.
#[derive(Debug, Clone, Default)]
struct FamilyIndex {
    by_prefix: BTreeMap<u8, HashMap<u128, Vec<u16>>>,
}

impl FamilyIndex {
    fn insert(&mut self, prefix: u8, network: u128, list: u16) {
        let lists = self
            .by_prefix
            .entry(prefix)
            .or_default()
            .entry(network)
            .or_default();
        if !lists.contains(&list) {
            lists.push(list);
        }
    }

    /// Every list holding a network that contains `address` (`bits` wide).
    fn lookup(&self, address: u128, bits: u8, out: &mut Vec<u16>) {
        // Longest prefix first, so the most specific list is named first.
        for (&prefix, networks) in self.by_prefix.iter().rev() {
            let masked = mask(address, prefix, bits);
            if let Some(lists) = networks.get(&masked) {
                for list in lists {
                    if !out.contains(list) {
                        out.push(*list);
                    }
                }
            }
        }
    }
}

fn mask(address: u128, prefix: u8, bits: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let host_bits = u32::from(bits - prefix.min(bits));
    let full = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let host_mask = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    address & full & !host_mask
}

/// Every named address list, indexed for look-ups.
#[derive(Debug, Clone, Default)]
pub struct AddressBook {
    lists: Vec<ListInfo>,
    v4: FamilyIndex,
    v6: FamilyIndex,
}

impl PartialEq for AddressBook {
    fn eq(&self, other: &Self) -> bool {
        self.lists == other.lists
            && self.v4.by_prefix == other.v4.by_prefix
            && self.v6.by_prefix == other.v6.by_prefix
    }
}

/// Why a list could not join a book.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressBookError {
    #[error("address list {name:?} is defined twice")]
    Duplicate { name: String },
    #[error("more than {} address lists", u16::MAX)]
    TooMany,
}

impl AddressBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a named list. `label` defaults to the nature's own wording.
    pub fn add_list(
        &mut self,
        name: &str,
        nature: Nature,
        label: Option<&str>,
        networks: &[IpNet],
    ) -> Result<(), AddressBookError> {
        if self.lists.iter().any(|l| l.name == name) {
            return Err(AddressBookError::Duplicate {
                name: name.to_string(),
            });
        }
        let index = u16::try_from(self.lists.len()).map_err(|_| AddressBookError::TooMany)?;
        for net in networks {
            match net.trunc() {
                IpNet::V4(v4) => {
                    self.v4
                        .insert(v4.prefix_len(), u128::from(u32::from(v4.network())), index)
                }
                IpNet::V6(v6) => self
                    .v6
                    .insert(v6.prefix_len(), u128::from(v6.network()), index),
            }
        }
        self.lists.push(ListInfo {
            name: name.to_string(),
            nature,
            label: label
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .unwrap_or(nature.default_label())
                .to_string(),
            networks: networks.len(),
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// `(name, nature, networks held)` of every list, in the order they were added.
    pub fn lists(&self) -> impl Iterator<Item = (&str, Nature, usize)> {
        self.lists
            .iter()
            .map(|l| (l.name.as_str(), l.nature, l.networks))
    }

    /// Every list holding the address, most specific network first.
    pub fn lookup(&self, address: IpAddr) -> Vec<AddressMatch> {
        let mut found = Vec::new();
        match canonical(address) {
            IpAddr::V4(v4) => self.v4.lookup(u128::from(u32::from(v4)), 32, &mut found),
            IpAddr::V6(v6) => self.v6.lookup(u128::from(v6), 128, &mut found),
        }
        found
            .into_iter()
            .map(|i| {
                let list = &self.lists[usize::from(i)];
                AddressMatch {
                    list: list.name.clone(),
                    nature: list.nature,
                    label: list.label.clone(),
                }
            })
            .collect()
    }

    /// As [`AddressBook::lookup`] for an address written as text; nothing for text that is
    /// not an address.
    pub fn lookup_text(&self, address: &str) -> Vec<AddressMatch> {
        parse_address(address)
            .map(|ip| self.lookup(ip))
            .unwrap_or_default()
    }

    /// Whether a list of this nature holds the address.
    pub fn has_nature(&self, address: IpAddr, nature: Nature) -> bool {
        self.lookup(address).iter().any(|m| m.nature == nature)
    }

    /// Whether the named list holds the address.
    pub fn in_list(&self, address: IpAddr, list: &str) -> bool {
        self.lookup(address).iter().any(|m| m.list == list)
    }
}

/// Reads an address as events write it: plain, bracketed IPv6, or with a port.
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(socket) = text.parse::<std::net::SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .map(canonical)
}

/// IPv4 written as IPv6 (`::ffff:192.0.2.1`) is the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Whether an address is private, loopback, link-local or otherwise not on the internet,
/// which is worth saying about an alert's source without any list.
pub fn is_internal(address: IpAddr) -> bool {
    match canonical(address) {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                // 100.64.0.0/10, carrier-grade NAT
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// A network or an address as written in a list (`192.0.2.0/24`, `198.51.100.7`, `2001:db8::/32`).
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    match parse_address(text) {
        Some(ip) => Ok(IpNet::from(ip)),
        None => Err(format!(
            "{:?} is not an address or a network like 192.0.2.0/24",
            text.chars().take(80).collect::<String>()
        )),
    }
}

/// Why a list file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListTextError {
    #[error("{origin} line {line}: {problem}")]
    BadLine {
        origin: String,
        line: usize,
        problem: String,
    },
    #[error("{origin} holds more than {MAX_LIST_ENTRIES} networks")]
    TooLarge { origin: String },
}

/// Reads a list file: one address or network per line; blank lines and everything after a
/// `#` are ignored, and so is anything after the first word, so a line may carry a note
/// (`203.0.113.9  exit-relay-7`). `origin` names the file in errors.
///
/// N.B. Tor's own exit list format (`ExitAddress 1.2.3.4 2024-01-01 ...`) is also read: the
/// `ExitAddress` keyword is skipped and the other keywords of that format are ignored.
pub fn parse_list_text(text: &str, origin: &str) -> Result<Vec<IpNet>, ListTextError> {
    const TOR_KEYWORDS: [&str; 3] = ["ExitNode", "Published", "LastStatus"];
    let mut networks = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let mut words = line.split_whitespace();
        let Some(mut first) = words.next() else {
            continue;
        };
        if TOR_KEYWORDS.contains(&first) {
            continue;
        }
        if first == "ExitAddress" {
            match words.next() {
                Some(address) => first = address,
                None => continue,
            }
        }
        let first = first.trim_end_matches(',');
        let network = parse_network(first).map_err(|problem| ListTextError::BadLine {
            origin: origin.to_string(),
            line: number + 1,
            problem,
        })?;
        if networks.len() >= MAX_LIST_ENTRIES {
            return Err(ListTextError::TooLarge {
                origin: origin.to_string(),
            });
        }
        networks.push(network);
    }
    Ok(networks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(texts: &[&str]) -> Vec<IpNet> {
        texts.iter().map(|t| parse_network(t).unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn book() -> AddressBook {
        let mut book = AddressBook::new();
        book.add_list(
            "office",
            Nature::Corporate,
            Some("head office"),
            &nets(&["192.0.2.0/24"]),
        )
        .unwrap();
        book.add_list(
            "vpn",
            Nature::Vpn,
            Some("corporate VPN"),
            &nets(&["192.0.2.128/25", "2001:db8:1::/48"]),
        )
        .unwrap();
        book.add_list(
            "tor",
            Nature::Anonymising,
            Some("Tor exit"),
            &nets(&["203.0.113.45"]),
        )
        .unwrap();
        book
    }

    #[test]
    fn an_address_on_two_lists_names_the_most_specific_first() {
        let found = book().lookup(ip("192.0.2.200"));

        let names: Vec<&str> = found.iter().map(|m| m.list.as_str()).collect();
        assert_eq!(names, ["vpn", "office"]);
        assert_eq!(found[0].label, "corporate VPN");
    }

    #[test]
    fn single_addresses_ipv6_networks_and_mapped_ipv4_are_found() {
        let book = book();

        assert!(book.has_nature(ip("203.0.113.45"), Nature::Anonymising));
        assert!(!book.has_nature(ip("203.0.113.46"), Nature::Anonymising));
        assert!(book.in_list(ip("2001:db8:1:ffff::7"), "vpn"));
        assert!(!book.in_list(ip("2001:db8:2::7"), "vpn"));
        assert!(book.in_list(ip("::ffff:192.0.2.10"), "office"));
    }

    #[test]
    fn an_address_on_no_list_finds_nothing_and_text_that_is_no_address_too() {
        let book = book();

        assert!(book.lookup(ip("198.51.100.1")).is_empty());
        assert!(book.lookup_text("not an address").is_empty());
        assert_eq!(book.lookup_text(" 203.0.113.45 ").len(), 1);
        assert_eq!(book.lookup_text("[2001:db8:1::1]:443").len(), 1);
    }

    #[test]
    fn a_list_named_twice_is_refused() {
        let mut book = book();

        let error = book.add_list("tor", Nature::Other, None, &[]).unwrap_err();

        assert_eq!(error.to_string(), "address list \"tor\" is defined twice");
    }

    #[test]
    fn a_list_without_a_label_reads_as_its_nature() {
        let mut book = AddressBook::new();
        book.add_list("aws", Nature::Cloud, None, &nets(&["198.51.100.0/24"]))
            .unwrap();

        let found = book.lookup(ip("198.51.100.9"));

        assert_eq!(found[0].label, "cloud or hosting provider");
    }

    #[test]
    fn a_default_route_matches_everything_of_its_family() {
        let mut book = AddressBook::new();
        book.add_list("all4", Nature::Other, None, &nets(&["0.0.0.0/0"]))
            .unwrap();

        assert!(book.in_list(ip("8.8.8.8"), "all4"));
        assert!(!book.in_list(ip("2001:db8::1"), "all4"));
    }

    #[test]
    fn list_files_take_comments_notes_and_tor_exit_format() {
        let text = "# office ranges\n192.0.2.0/24  # main\n\n198.51.100.7 relay-7\n\
                    ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n\
                    Published 2024-01-01 00:00:00\nExitAddress 203.0.113.45 2024-01-01 01:00:00\n";

        let networks = parse_list_text(text, "lists/tor.txt").unwrap();

        assert_eq!(
            networks,
            nets(&["192.0.2.0/24", "198.51.100.7/32", "203.0.113.45/32"])
        );
    }

    #[test]
    fn a_bad_line_is_named_by_file_and_line_number() {
        let error = parse_list_text("192.0.2.0/24\n\n10.0.0.300\n", "s3://b/vpn.txt").unwrap_err();

        let text = error.to_string();
        assert!(text.starts_with("s3://b/vpn.txt line 3:"), "{text}");
        assert!(text.contains("10.0.0.300"), "{text}");
    }

    #[test]
    fn networks_written_with_host_bits_are_truncated_to_the_network() {
        assert_eq!(
            parse_network("192.0.2.77/24").unwrap(),
            "192.0.2.0/24".parse::<IpNet>().unwrap()
        );
    }

    #[test]
    fn internal_addresses_are_recognised_without_lists() {
        for text in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_internal(ip(text)), "{text}");
        }
        for text in ["8.8.8.8", "192.0.2.1", "2001:db8::1", "100.128.0.1"] {
            assert!(!is_internal(ip(text)), "{text}");
        }
    }

    #[test]
    fn natures_parse_in_either_spelling_and_name_the_choices() {
        assert_eq!(
            "Anonymizing".parse::<Nature>().unwrap(),
            Nature::Anonymising
        );
        assert_eq!("vpn".parse::<Nature>().unwrap(), Nature::Vpn);

        let error = "tor".parse::<Nature>().unwrap_err();

        assert!(error.contains("anonymising"), "{error}");
    }
}
