//! The company the scenario plays out in: Larkfield Analytics, a UK software firm of about
//! forty people with offices in London and Manchester, a few remote workers, the SSO apps
//! they use, their laptops, the admins, and the automations that write to the directory.
//!
//! The cast is fixed (the stories need a named traveller, victim and so on); the seed only
//! chooses the object ids, home addresses and similar details.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

use super::rng::{ObjectIds, Rng};

/// A place on the map, as Directory Insights' `geoip` block describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Geo {
    pub city: &'static str,
    pub region_code: &'static str,
    pub region_name: &'static str,
    pub country_code: &'static str,
    pub continent_code: &'static str,
    pub timezone: &'static str,
    pub latitude: f64,
    pub longitude: f64,
}

impl Geo {
    const fn new(
        city: &'static str,
        region: (&'static str, &'static str),
        country: (&'static str, &'static str),
        timezone: &'static str,
        latitude: f64,
        longitude: f64,
    ) -> Self {
        Self {
            city,
            region_code: region.0,
            region_name: region.1,
            country_code: country.0,
            continent_code: country.1,
            timezone,
            latitude,
            longitude,
        }
    }

    /// The same place a few kilometres away (another street in the same city).
    fn nearby(&self, rng: &mut Rng) -> Geo {
        let jitter = |rng: &mut Rng| (rng.between(-400, 400) as f64) / 10_000.0;
        Geo {
            latitude: round4(self.latitude + jitter(rng)),
            longitude: round4(self.longitude + jitter(rng)),
            ..self.clone()
        }
    }

    /// The `geoip` block. N.B. real events carry no city; it is kept out so the shape matches.
    pub fn to_json(&self) -> Value {
        json!({
            "country_code": self.country_code,
            "timezone": self.timezone,
            "latitude": self.latitude,
            "continent_code": self.continent_code,
            "region_name": self.region_name,
            "longitude": self.longitude,
            "region_code": self.region_code,
        })
    }

    /// Great-circle distance in kilometres.
    pub fn distance_km(&self, other: &Geo) -> f64 {
        distance_km(
            (self.latitude, self.longitude),
            (other.latitude, other.longitude),
        )
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Haversine distance in kilometres between two (latitude, longitude) points.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371.0 * h.sqrt().asin()
}

const EU: &str = "EU";
const GB: (&str, &str) = ("GB", EU);
const LONDON_TZ: &str = "Europe/London";

pub const LONDON: Geo = Geo::new("London", ("ENG", "England"), GB, LONDON_TZ, 51.5136, -0.089);
pub const MANCHESTER: Geo = Geo::new(
    "Manchester",
    ("ENG", "England"),
    GB,
    LONDON_TZ,
    53.4794,
    -2.2453,
);
const EDINBURGH: Geo = Geo::new(
    "Edinburgh",
    ("SCT", "Scotland"),
    GB,
    LONDON_TZ,
    55.9533,
    -3.1883,
);
const BRISTOL: Geo = Geo::new(
    "Bristol",
    ("ENG", "England"),
    GB,
    LONDON_TZ,
    51.4545,
    -2.5879,
);
const LEEDS: Geo = Geo::new("Leeds", ("ENG", "England"), GB, LONDON_TZ, 53.8008, -1.5491);
const CARDIFF: Geo = Geo::new("Cardiff", ("WLS", "Wales"), GB, LONDON_TZ, 51.4816, -3.1791);
const BRIGHTON: Geo = Geo::new(
    "Brighton",
    ("ENG", "England"),
    GB,
    LONDON_TZ,
    50.8225,
    -0.1372,
);
/// Where the mobile carrier's gateway geolocates: central London, whatever the phone's town.
const MOBILE_GATEWAY: Geo = Geo::new(
    "London",
    ("ENG", "England"),
    GB,
    LONDON_TZ,
    51.5074,
    -0.1278,
);
pub const NEW_YORK: Geo = Geo::new(
    "New York",
    ("NY", "New York"),
    ("US", "NA"),
    "America/New_York",
    40.7549,
    -73.984,
);
const DUBLIN: Geo = Geo::new(
    "Dublin",
    ("L", "Leinster"),
    ("IE", EU),
    "Europe/Dublin",
    53.3379,
    -6.2591,
);
const FRANKFURT: Geo = Geo::new(
    "Frankfurt am Main",
    ("HE", "Hesse"),
    ("DE", EU),
    "Europe/Berlin",
    50.1109,
    8.6821,
);
pub const AMSTERDAM: Geo = Geo::new(
    "Amsterdam",
    ("NH", "North Holland"),
    ("NL", EU),
    "Europe/Amsterdam",
    52.3824,
    4.8995,
);
pub const SINGAPORE: Geo = Geo::new(
    "Singapore",
    ("01", "Central Singapore"),
    ("SG", "AS"),
    "Asia/Singapore",
    1.2897,
    103.8501,
);

/// A source address and where it geolocates.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub ip: String,
    pub geo: Geo,
    /// What the address is, for people reading the scenario (`London office`, `home`...).
    pub label: &'static str,
}

impl Network {
    pub fn new(ip: impl Into<String>, geo: Geo, label: &'static str) -> Self {
        Self {
            ip: ip.into(),
            geo,
            label,
        }
    }
}

/// Which kind of laptop a person uses; it decides the user agent and the device-login shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Mac,
    Windows,
}

/// How a person answers the second factor at the user portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mfa {
    /// JumpCloud Protect push on their phone.
    Push,
    /// A TOTP code.
    Totp,
}

/// Where a person usually works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    London,
    Manchester,
    Remote,
}

/// A managed device.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub id: String,
    pub hostname: String,
    pub os: Os,
}

impl System {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "hostname": self.hostname,
            "displayName": self.hostname,
        })
    }

    /// The `auth_context.system` block SSO events carry for a managed device.
    pub fn auth_context(&self) -> Value {
        let (os, version) = match self.os {
            Os::Mac => ("Mac OS X", "14.5"),
            Os::Windows => ("Windows", "11 Pro"),
        };
        json!({
            "id": self.id,
            "hostname": self.hostname,
            "displayName": self.hostname,
            "os": os,
            "version": version,
        })
    }
}

/// An SSO application.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: String,
    /// The connector type (`google`, `slack`, `aws`...).
    pub name: &'static str,
    pub display_label: &'static str,
}

impl App {
    pub fn to_json(&self) -> Value {
        json!({
            "display_label": self.display_label,
            "sso_type": "saml",
            "name": self.name,
            "id": self.id,
            "sso_url": format!("https://sso.jumpcloud.com/saml2/{}", self.name),
        })
    }
}

/// One employee.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub first: &'static str,
    pub last: &'static str,
    pub username: String,
    pub email: String,
    pub department: &'static str,
    pub title: &'static str,
    pub base: Base,
    /// Works from home some days (office workers only).
    pub hybrid: bool,
    /// The home broadband address.
    pub home: Network,
    pub user_id: String,
    /// The id of their admin-console account, for the few who have one.
    pub admin_id: Option<String>,
    pub laptop: System,
    pub mfa: Mfa,
    /// Indexes into [`Company::apps`].
    pub apps: Vec<usize>,
    /// For new hires: the day (from the scenario start) they join; `None` for staff.
    pub joins_on_day: Option<u32>,
}

impl Person {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    /// The `initiated_by` block of something this person did as a user.
    pub fn as_user(&self) -> Value {
        json!({"id": self.user_id, "type": "user", "username": self.username})
    }

    /// The `resource` block of a change made to this person's user account.
    pub fn as_resource(&self) -> Value {
        json!({"id": self.user_id, "type": "user", "username": self.username})
    }

    /// The `initiated_by` block of something this person did in the admin console.
    pub fn as_admin(&self) -> Option<Value> {
        let id = self.admin_id.as_ref()?;
        Some(json!({"id": id, "type": "admin", "email": self.email}))
    }
}

/// An automation that writes to the directory with an admin's API key.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub name: &'static str,
    pub admin_id: String,
    pub email: String,
    pub network: Network,
    /// Set for SCIM connectors (`initiated_by.source`).
    pub source: Option<&'static str>,
}

impl Integration {
    pub fn as_initiator(&self) -> Value {
        let mut v = json!({"id": self.admin_id, "type": "admin", "email": self.email});
        if let Some(source) = self.source {
            v["source"] = json!(source);
        }
        v
    }
}

/// A user group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: &'static str,
}

/// The whole cast and setting.
#[derive(Debug, Clone)]
pub struct Company {
    pub org_id: String,
    pub domain: &'static str,
    pub london_office: Network,
    pub manchester_office: Network,
    /// The mobile carrier's gateway that phones come out of.
    pub mobile: Network,
    /// The hotel the traveller stays in.
    pub new_york_hotel: Network,
    /// The build server that binds to LDAP.
    pub build_server: Network,
    pub build_systems: Vec<System>,
    pub people: Vec<Person>,
    pub apps: Vec<App>,
    pub groups: Vec<Group>,
    pub hr_sync: Integration,
    pub scim: Integration,
    /// Conditional-access policy the attacker deletes.
    pub mfa_policy: (String, &'static str),
    /// A device policy that routine work updates.
    pub device_policy: (String, &'static str),
    pub patch_command: (String, &'static str),
}

/// The fixed cast: first name, last name, department, job title, base, OS, hybrid.
const STAFF: &[(&str, &str, &str, &str, Base, Os, bool)] = &[
    (
        "Sarah",
        "Mitchell",
        "IT",
        "Head of IT",
        Base::London,
        Os::Mac,
        false,
    ),
    (
        "Jamie",
        "Clarke",
        "IT",
        "Systems Engineer",
        Base::London,
        Os::Mac,
        false,
    ),
    (
        "Priya",
        "Patel",
        "IT",
        "IT Support Analyst",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "David",
        "Chen",
        "Engineering",
        "Chief Technology Officer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Tom",
        "Walsh",
        "Engineering",
        "Senior Backend Engineer",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Aisha",
        "Rahman",
        "Engineering",
        "Backend Engineer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Lucas",
        "Silva",
        "Engineering",
        "Frontend Engineer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Emily",
        "Watson",
        "Engineering",
        "Engineering Manager",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "George",
        "Adams",
        "Engineering",
        "DevOps Engineer",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Chloe",
        "Martin",
        "Engineering",
        "QA Engineer",
        Base::Manchester,
        Os::Windows,
        true,
    ),
    (
        "Ryan",
        "O'Connor",
        "Engineering",
        "Data Engineer",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Zara",
        "Ahmed",
        "Engineering",
        "Mobile Engineer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Nathan",
        "Brooks",
        "Engineering",
        "Site Reliability Engineer",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Olivia",
        "Bennett",
        "Product",
        "Head of Product",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Sam",
        "Turner",
        "Product",
        "Product Manager",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Maya",
        "Kowalski",
        "Design",
        "Product Designer",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Ethan",
        "Hughes",
        "Design",
        "UX Researcher",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Oliver",
        "Grant",
        "Sales",
        "Sales Director",
        Base::London,
        Os::Mac,
        false,
    ),
    (
        "Hannah",
        "Reid",
        "Sales",
        "Account Executive",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Jack",
        "Robinson",
        "Sales",
        "Account Executive",
        Base::London,
        Os::Windows,
        true,
    ),
    (
        "Sophie",
        "Evans",
        "Sales",
        "Sales Development Representative",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Daniel",
        "Murphy",
        "Sales",
        "Sales Engineer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Grace",
        "Lee",
        "Sales",
        "Account Manager",
        Base::Manchester,
        Os::Windows,
        true,
    ),
    (
        "Isabella",
        "Moore",
        "Marketing",
        "Head of Marketing",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Harry",
        "Wood",
        "Marketing",
        "Content Marketer",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Ella",
        "Price",
        "Marketing",
        "Marketing Operations Specialist",
        Base::London,
        Os::Windows,
        true,
    ),
    (
        "Liam",
        "Scott",
        "Customer Success",
        "Customer Success Manager",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Freya",
        "Campbell",
        "Customer Success",
        "Support Engineer",
        Base::Manchester,
        Os::Windows,
        true,
    ),
    (
        "Noah",
        "Phillips",
        "Customer Success",
        "Support Engineer",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Amelia",
        "Ward",
        "Customer Success",
        "Implementation Consultant",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Rebecca",
        "Hall",
        "Finance",
        "Chief Financial Officer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Mohammed",
        "Ali",
        "Finance",
        "Financial Controller",
        Base::London,
        Os::Windows,
        true,
    ),
    (
        "Lucy",
        "Baker",
        "Finance",
        "Accounts Assistant",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Charlotte",
        "King",
        "People",
        "Head of People",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Ben",
        "Foster",
        "People",
        "Recruiter",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Jessica",
        "Young",
        "People",
        "People Partner",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Matthew",
        "Clark",
        "Executive",
        "Chief Executive Officer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Laura",
        "Fischer",
        "Legal",
        "Legal Counsel",
        Base::Remote,
        Os::Mac,
        false,
    ),
    (
        "Kieran",
        "Doyle",
        "Operations",
        "Office Manager",
        Base::London,
        Os::Windows,
        false,
    ),
    (
        "Sofia",
        "Rossi",
        "Operations",
        "Operations Analyst",
        Base::Manchester,
        Os::Windows,
        true,
    ),
];

/// People who join during the scenario: the HR system creates them the night before their
/// first day (new hires join on every second day, starting with the first).
const NEW_HIRES: &[(&str, &str, &str, &str, Base, Os, bool)] = &[
    (
        "Adam",
        "Novak",
        "Engineering",
        "Backend Engineer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Leah",
        "Carter",
        "Sales",
        "Sales Development Representative",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Yusuf",
        "Khan",
        "Customer Success",
        "Support Engineer",
        Base::Manchester,
        Os::Windows,
        false,
    ),
    (
        "Niamh",
        "Byrne",
        "Marketing",
        "Graphic Designer",
        Base::London,
        Os::Mac,
        true,
    ),
    (
        "Owen",
        "Jones",
        "Finance",
        "Financial Analyst",
        Base::London,
        Os::Windows,
        true,
    ),
];

/// Remote workers' home towns, in the order they appear in [`STAFF`].
const REMOTE_TOWNS: &[Geo] = &[
    EDINBURGH, BRISTOL, LEEDS, CARDIFF, BRIGHTON, BRISTOL, LEEDS, EDINBURGH,
];

const APPS: &[(&str, &str)] = &[
    ("slack", "Slack"),
    ("google", "Google Workspace"),
    ("zoom", "Zoom"),
    ("aws", "AWS"),
    ("github", "GitHub"),
    ("atlassian", "Atlassian Cloud"),
    ("figma", "Figma"),
    ("salesforce", "Salesforce"),
    ("zendesk", "Zendesk"),
    ("xero", "Xero"),
    ("hibob", "HiBob"),
    ("hubspot", "HubSpot"),
];

pub const GROUPS: &[&str] = &[
    "All Staff",
    "Engineering",
    "Product & Design",
    "Sales",
    "Customer Success",
    "Finance",
    "People",
    "Marketing",
    "IT Admins",
    "Office - London",
    "Office - Manchester",
    "Remote",
    "AWS Production",
    "Release Managers",
];

/// When the directory objects were created: long before the scenario.
fn created_before(start: NaiveDate, rng: &mut Rng) -> DateTime<Utc> {
    let date = start - Duration::days(rng.between(120, 900));
    Utc.from_utc_datetime(&date.and_hms_opt(10, 0, 0).unwrap_or_default())
        + Duration::seconds(rng.between(0, 30_000))
}

impl Company {
    /// Builds the company for one seed. Object ids depend on the seed and look as if the
    /// objects were created well before `start`.
    pub fn build(seed: u64, start: NaiveDate) -> Self {
        let mut rng = Rng::new(seed, "company", 0);
        let mut ids = ObjectIds::new(&mut rng);
        let mut id = |rng: &mut Rng| {
            let at = created_before(start, rng);
            ids.at(at)
        };

        let org_id = id(&mut rng);
        let apps: Vec<App> = APPS
            .iter()
            .map(|(name, label)| App {
                id: id(&mut rng),
                name,
                display_label: label,
            })
            .collect();
        let groups: Vec<Group> = GROUPS
            .iter()
            .map(|name| Group {
                id: id(&mut rng),
                name,
            })
            .collect();

        let mut remote_towns = REMOTE_TOWNS.iter().cycle();
        let mut people = Vec::new();
        let everyone = STAFF.iter().map(|p| (p, None)).chain(
            NEW_HIRES
                .iter()
                .enumerate()
                .map(|(i, p)| (p, Some(i as u32 * 2))),
        );
        for (&(first, last, department, title, base, os, hybrid), joins_on_day) in everyone {
            let town = match base {
                Base::London => LONDON,
                Base::Manchester => MANCHESTER,
                Base::Remote => remote_towns.next().cloned().unwrap_or(LONDON),
            };
            let username = format!(
                "{}.{}",
                first.to_lowercase(),
                last.to_lowercase().replace('\'', "")
            );
            let home = Network::new(home_ip(&mut rng), town.nearby(&mut rng), "home broadband");
            let is_admin = matches!(
                (first, last),
                ("Sarah", "Mitchell") | ("Jamie", "Clarke") | ("David", "Chen")
            );
            let laptop = System {
                id: id(&mut rng),
                hostname: hostname(first, last, os),
                os,
            };
            // Engineers use TOTP; new hires enrol a TOTP app on their first day (the scenario
            // shows it); everyone else approves JumpCloud Protect pushes.
            let mfa = if department == "Engineering" || joins_on_day.is_some() {
                Mfa::Totp
            } else {
                Mfa::Push
            };
            people.push(Person {
                first,
                last,
                email: format!("{username}@larkfield.io"),
                username,
                department,
                title,
                base,
                hybrid,
                home,
                user_id: id(&mut rng),
                admin_id: if is_admin { Some(id(&mut rng)) } else { None },
                laptop,
                mfa,
                apps: apps_for(department),
                joins_on_day,
            });
        }

        let build_systems = ["build-01", "build-02", "ops-bastion"]
            .iter()
            .map(|h| System {
                id: id(&mut rng),
                hostname: (*h).to_string(),
                os: Os::Mac,
            })
            .collect();

        Company {
            hr_sync: Integration {
                name: "HiBob nightly sync",
                admin_id: id(&mut rng),
                email: "hr-integration@larkfield.io".into(),
                network: Network::new("52.49.201.17", DUBLIN, "HR system (AWS eu-west-1)"),
                source: None,
            },
            scim: Integration {
                name: "Payroll SCIM connector",
                admin_id: id(&mut rng),
                email: "payroll-scim@larkfield.io".into(),
                network: Network::new(
                    "3.120.181.40",
                    FRANKFURT,
                    "payroll provider (AWS eu-central-1)",
                ),
                source: Some("scim"),
            },
            mfa_policy: (id(&mut rng), "Require MFA for user portal and SSO apps"),
            device_policy: (id(&mut rng), "macOS - Lock screen after inactivity"),
            patch_command: (id(&mut rng), "Weekly OS patch check"),
            org_id,
            domain: "larkfield.io",
            london_office: Network::new("195.224.48.10", LONDON, "London office"),
            manchester_office: Network::new("62.252.196.34", MANCHESTER, "Manchester office"),
            mobile: Network::new(
                format!("82.132.219.{}", rng.between(2, 250)),
                MOBILE_GATEWAY,
                "mobile network",
            ),
            new_york_hotel: Network::new("69.193.168.52", NEW_YORK, "hotel Wi-Fi, New York"),
            build_server: Network::new(
                "18.130.44.9",
                LONDON.clone(),
                "build server (AWS eu-west-2)",
            ),
            build_systems,
            people,
            apps,
            groups,
        }
    }

    pub fn person(&self, username: &str) -> &Person {
        self.people
            .iter()
            .find(|p| p.username == username)
            .unwrap_or_else(|| panic!("the scenario's cast has no {username}"))
    }

    pub fn app(&self, name: &str) -> &App {
        self.apps
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("the scenario has no app {name}"))
    }

    pub fn group(&self, name: &str) -> &Group {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("the scenario has no group {name}"))
    }

    /// Head of IT; her old API key is the one the attacker holds.
    pub fn head_of_it(&self) -> &Person {
        self.person("sarah.mitchell")
    }

    /// The systems engineer whose accounts the attacker takes over.
    pub fn victim(&self) -> &Person {
        self.person("jamie.clarke")
    }

    /// The sales director who flies to New York.
    pub fn traveller(&self) -> &Person {
        self.person("oliver.grant")
    }

    /// The account executive who works from her phone on the mobile network.
    pub fn mobile_worker(&self) -> &Person {
        self.person("hannah.reid")
    }

    /// The recruiter who leaves: the HR sync suspends him.
    pub fn leaver(&self) -> &Person {
        self.person("ben.foster")
    }

    /// The office network a person uses when at their base; remote workers have none.
    pub fn office_of(&self, person: &Person) -> Option<&Network> {
        match person.base {
            Base::London => Some(&self.london_office),
            Base::Manchester => Some(&self.manchester_office),
            Base::Remote => None,
        }
    }

    /// Whether someone is employed on a day (new hires from their first day).
    pub fn employed_on(&self, person: &Person, day: u32) -> bool {
        person.joins_on_day.is_none_or(|d| d <= day)
    }
}

fn apps_for(department: &str) -> Vec<usize> {
    let index = |name: &str| APPS.iter().position(|(n, _)| *n == name).unwrap_or(0);
    let mut apps = vec![index("slack"), index("google"), index("zoom")];
    let extra: &[&str] = match department {
        "IT" => &["aws", "github", "atlassian", "hibob"],
        "Engineering" => &["aws", "github", "atlassian"],
        "Product" | "Design" => &["atlassian", "figma"],
        "Sales" => &["salesforce", "hubspot"],
        "Customer Success" => &["zendesk", "salesforce"],
        "Finance" => &["xero", "hibob"],
        "People" => &["hibob"],
        "Marketing" => &["hubspot", "figma"],
        _ => &["atlassian"],
    };
    apps.extend(extra.iter().map(|n| index(n)));
    apps
}

fn hostname(first: &str, last: &str, os: Os) -> String {
    let kind = match os {
        Os::Mac => "MBP",
        Os::Windows => "WIN",
    };
    let initial = first.chars().next().unwrap_or('X');
    let last: String = last.chars().filter(char::is_ascii_alphabetic).collect();
    format!("LF-{kind}-{initial}{}", last.to_uppercase())
}

/// A residential broadband address in a block that UK providers use.
fn home_ip(rng: &mut Rng) -> String {
    let prefixes = [
        "86.134", "86.162", "92.40", "81.106", "109.154", "2.31", "90.216",
    ];
    format!(
        "{}.{}.{}",
        rng.pick(&prefixes),
        rng.between(1, 254),
        rng.between(2, 253)
    )
}
