//! JumpCloud's directory as enrichment reads it: users (v1 `GET /api/systemusers/{id}` and the
//! filtered list), console administrators (v1 `GET /api/users`), a user's groups through the
//! v2 graph (`GET /api/v2/users/{id}/memberof`, which carries ids only, indirect membership
//! through nested groups included) and a group by id (`GET /api/v2/usergroups/{id}`).
//!
//! Faithful where a client can go wrong: the same credentials and organisations as the events
//! search; an unknown user or group is a 404; v1 lists answer `{results, totalCount}` with
//! `limit` (default 10, at most 100) and `skip`; v1 filters are `field:$eq:value`, case
//! sensitive, and a filter without the `$` is refused; v2 lists answer a bare array with an
//! `x-total-count` header; `fields` projects v1 records (`_id` always kept).
//!
//! Limitation: only the `$eq` operator of v1 filters and `type:eq:` of v2 graph filters are
//! understood; `sort` is accepted and ignored (records are kept in id order anyway).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jcwatch_model::time::format_timestamp;
use serde_json::{Map, Value, json};

use crate::api::{Shared, State, lock, message, parse_query};
use crate::generate::Person;
use crate::ids::mix;
use crate::scenario;

/// A user of the directory: the v1 `systemuser` fields worth simulating.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub cost_center: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
    pub employee_type: Option<String>,
    /// The manager's user id.
    pub manager: Option<String>,
    /// `STAGED`, `ACTIVATED` or `SUSPENDED`.
    pub state: String,
    pub suspended: bool,
    pub account_locked: bool,
    pub mfa_configured: bool,
    pub totp_enrolled: bool,
    pub mfa_excluded: bool,
    pub created: DateTime<Utc>,
    /// An administrator link on the user record (`admin {id, roleName}`).
    pub admin_role: Option<String>,
    /// Any other field, written into the record as given.
    pub extra: Map<String, Value>,
}

impl DirectoryUser {
    /// An activated user with MFA and TOTP, created at the start of 2024.
    pub fn new(person: &Person, firstname: &str, lastname: &str) -> Self {
        Self::with_id(
            &person.id,
            &person.username,
            &person.email,
            firstname,
            lastname,
        )
    }

    /// As [`DirectoryUser::new`], for a person known by id, username and email.
    pub fn with_id(id: &str, username: &str, email: &str, firstname: &str, lastname: &str) -> Self {
        Self {
            id: id.to_owned(),
            username: username.to_owned(),
            email: email.to_owned(),
            firstname: firstname.to_owned(),
            lastname: lastname.to_owned(),
            job_title: None,
            department: None,
            cost_center: None,
            company: None,
            location: None,
            employee_type: Some("Full-time".to_owned()),
            manager: None,
            state: "ACTIVATED".to_owned(),
            suspended: false,
            account_locked: false,
            mfa_configured: true,
            totp_enrolled: true,
            mfa_excluded: false,
            created: DateTime::from_timestamp(1_704_103_200, 0).unwrap_or_default(),
            admin_role: None,
            extra: Map::new(),
        }
    }

    /// Sets job title and department.
    pub fn position(mut self, job_title: &str, department: &str) -> Self {
        self.job_title = Some(job_title.to_owned());
        self.department = Some(department.to_owned());
        self
    }

    pub fn cost_center(mut self, cost_center: &str) -> Self {
        self.cost_center = Some(cost_center.to_owned());
        self
    }

    pub fn location(mut self, location: &str) -> Self {
        self.location = Some(location.to_owned());
        self
    }

    pub fn manager(mut self, manager: &Person) -> Self {
        self.manager = Some(manager.id.clone());
        self
    }

    /// No MFA configured and no TOTP.
    pub fn without_mfa(mut self) -> Self {
        self.mfa_configured = false;
        self.totp_enrolled = false;
        self
    }

    /// The record as `GET /api/systemusers/{id}` answers it.
    pub fn to_json(&self) -> Value {
        let totp_status = if self.totp_enrolled {
            "ENROLLED"
        } else {
            "NOT_ENROLLED"
        };
        let mut record = json!({
            "_id": self.id,
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "firstname": self.firstname,
            "middlename": "",
            "lastname": self.lastname,
            "displayname": "",
            "jobTitle": self.job_title.clone().unwrap_or_default(),
            "department": self.department.clone().unwrap_or_default(),
            "costCenter": self.cost_center.clone().unwrap_or_default(),
            "company": self.company.clone().unwrap_or_default(),
            "location": self.location.clone().unwrap_or_default(),
            "employeeType": self.employee_type.clone().unwrap_or_default(),
            "employeeIdentifier": format!("E{:05}", mix(self.id.len() as u64 ^ self.username.len() as u64) % 100_000),
            "manager": self.manager.clone().unwrap_or_default(),
            "state": self.state,
            "activated": self.state == "ACTIVATED",
            "suspended": self.suspended,
            "account_locked": self.account_locked,
            "account_locked_date": if self.account_locked { json!(format_timestamp(self.created)) } else { Value::Null },
            "badLoginAttempts": 0,
            "created": format_timestamp(self.created),
            "creationSource": "jumpcloud:directory",
            "mfa": {
                "configured": self.mfa_configured,
                "exclusion": self.mfa_excluded,
                "exclusionDays": 0,
                "exclusionUntil": Value::Null,
            },
            "mfaEnrollment": {
                "overallStatus": if self.mfa_configured { "ENROLLED" } else { "NOT_ENROLLED" },
                "totpStatus": totp_status,
                "webAuthnStatus": "NOT_ENROLLED",
                "pushStatus": "NOT_ENROLLED",
            },
            "totp_enabled": self.totp_enrolled,
            "enable_user_portal_multifactor": self.mfa_configured,
            "password_expired": false,
            "password_never_expires": false,
            "sudo": false,
            "passwordless_sudo": false,
            "admin": Value::Null,
            "attributes": [],
            "addresses": [],
            "phoneNumbers": [],
            "ssh_keys": [],
            "organization": "",
        });
        if let Some(role) = &self.admin_role {
            record["admin"] =
                json!({"id": admin_id_for(&self.id), "roleName": role, "roleNames": [role]});
        }
        if let Value::Object(object) = &mut record {
            for (key, value) in &self.extra {
                object.insert(key.clone(), value.clone());
            }
        }
        record
    }
}

/// A console administrator: the v1 `userreturn` fields worth simulating.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryAdmin {
    /// The id events carry in `initiated_by.id` for this administrator.
    pub id: String,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub role_name: String,
    pub enable_multi_factor: bool,
    pub totp_enrolled: bool,
    pub suspended: bool,
    pub created: DateTime<Utc>,
}

impl DirectoryAdmin {
    pub fn new(person: &Person, firstname: &str, lastname: &str, role_name: &str) -> Self {
        Self::with_id(&person.id, &person.email, firstname, lastname, role_name)
    }

    /// As [`DirectoryAdmin::new`], for an administrator known by id and email.
    pub fn with_id(
        id: &str,
        email: &str,
        firstname: &str,
        lastname: &str,
        role_name: &str,
    ) -> Self {
        Self {
            id: id.to_owned(),
            email: email.to_owned(),
            firstname: firstname.to_owned(),
            lastname: lastname.to_owned(),
            role_name: role_name.to_owned(),
            enable_multi_factor: true,
            totp_enrolled: true,
            suspended: false,
            created: DateTime::from_timestamp(1_672_567_200, 0).unwrap_or_default(),
        }
    }

    /// The record as `GET /api/users` lists it.
    pub fn to_json(&self) -> Value {
        json!({
            "_id": self.id,
            "email": self.email,
            "firstname": self.firstname,
            "lastname": self.lastname,
            "enableMultiFactor": self.enable_multi_factor,
            "totpEnrolled": self.totp_enrolled,
            "roleName": self.role_name,
            "roleNames": [self.role_name],
            "suspended": self.suspended,
            "created": format_timestamp(self.created),
            "apiKeyAllowed": true,
            "organization": "",
        })
    }
}

/// One organisation's directory: users, administrators and user groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    users: BTreeMap<String, DirectoryUser>,
    admins: BTreeMap<String, DirectoryAdmin>,
    /// Group id to name.
    groups: BTreeMap<String, String>,
    /// Group id to its direct members: user ids and group ids.
    members: BTreeMap<String, BTreeSet<String>>,
}

impl Directory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn user(mut self, user: DirectoryUser) -> Self {
        self.users.insert(user.id.clone(), user);
        self
    }

    pub fn admin(mut self, admin: DirectoryAdmin) -> Self {
        self.admins.insert(admin.id.clone(), admin);
        self
    }

    /// A user group with these people as direct members (added again, it gains members).
    pub fn group(mut self, name: &str, people: &[&Person]) -> Self {
        let id = group_id(name);
        self.groups.insert(id.clone(), name.to_owned());
        self.members
            .entry(id)
            .or_default()
            .extend(people.iter().map(|p| p.id.clone()));
        self
    }

    /// A user group with its own id and these members (user or group ids).
    pub fn group_with_id<I, S>(mut self, id: &str, name: &str, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.insert(id.to_owned(), name.to_owned());
        self.members
            .entry(id.to_owned())
            .or_default()
            .extend(members.into_iter().map(Into::into));
        self
    }

    /// Makes group `child` a member of group `parent` (both created if new): the members of
    /// `child` are then indirect members of `parent`.
    pub fn nest(self, parent: &str, child: &str) -> Self {
        let mut this = self.group(parent, &[]).group(child, &[]);
        this.members
            .entry(group_id(parent))
            .or_default()
            .insert(group_id(child));
        this
    }

    pub fn users(&self) -> impl Iterator<Item = &DirectoryUser> {
        self.users.values()
    }

    /// The groups a user belongs to, directly or through nested groups, by id.
    fn groups_of(&self, user_id: &str) -> Vec<String> {
        let mut found: BTreeSet<String> = BTreeSet::new();
        let mut frontier = vec![user_id.to_owned()];
        while let Some(member) = frontier.pop() {
            for (group, members) in &self.members {
                if members.contains(&member) && found.insert(group.clone()) {
                    frontier.push(group.clone());
                }
            }
        }
        found.into_iter().collect()
    }
}

impl Directory {
    /// A small company at `domain`, for tests and trials: a finance team with a director,
    /// an accountant and a contractor without MFA; an IT manager who administers JumpCloud;
    /// a suspended former employee; groups with a nested "All staff". People are made with
    /// [`Person::new`], so events from [`crate::generate::EventFactory`] name the same ids.
    pub fn sample_company(domain: &str) -> Directory {
        let director = Person::new("john.smith", domain);
        let jane = Person::new("jane.doe", domain);
        let contractor = Person::new("sam.contractor", domain);
        let it = Person::new("it.admin", domain);
        let former = Person::new("old.employee", domain);
        Directory::new()
            .user(
                DirectoryUser::new(&director, "John", "Smith")
                    .position("Finance Director", "Finance")
                    .cost_center("FIN-100")
                    .location("Paris"),
            )
            .user(
                DirectoryUser::new(&jane, "Jane", "Doe")
                    .position("Senior Accountant", "Finance")
                    .cost_center("FIN-200")
                    .location("Paris")
                    .manager(&director),
            )
            .user({
                let mut user = DirectoryUser::new(&contractor, "Sam", "Contractor")
                    .position("Payroll Consultant", "Finance")
                    .manager(&director)
                    .without_mfa();
                user.employee_type = Some("Contractor".to_owned());
                user
            })
            .user({
                let mut user = DirectoryUser::new(&it, "Ian", "Tanaka")
                    .position("IT Manager", "IT")
                    .location("Boston");
                user.admin_role = Some("Administrator with Billing".to_owned());
                user
            })
            .user({
                let mut user = DirectoryUser::new(&former, "Olga", "Ex")
                    .position("Sales Representative", "Sales");
                user.state = "SUSPENDED".to_owned();
                user.suspended = true;
                user
            })
            .admin(DirectoryAdmin::new(
                &it,
                "Ian",
                "Tanaka",
                "Administrator with Billing",
            ))
            .group("Finance", &[&director, &jane, &contractor])
            .group("VPN users", &[&jane, &it])
            .group("IT admins", &[&it])
            .group("Sales", &[&former])
            .nest("All staff", "Finance")
            .nest("All staff", "IT admins")
            .nest("All staff", "Sales")
    }
}

impl Directory {
    /// The directory of the scenario's company as it stands at the end of the scripted day:
    /// everyone with their job title, department, manager (their department's head, whose
    /// own manager is the chief executive), location and groups (All Staff, their
    /// department's, their office's, and the access groups); the admin-console accounts and
    /// the integrations' API-key administrators; the leaver suspended by the HR sync; the
    /// systems engineer without the MFA the intruder removed. The back-door administrator the
    /// intruder created and deleted is not there.
    pub fn from_company(company: &scenario::Company) -> Directory {
        let people = &company.people;
        let ceo = people.iter().find(|p| p.title == "Chief Executive Officer");
        let head_of = |department: &str| {
            let department = if department == "Design" {
                "Product"
            } else {
                department
            };
            people.iter().find(|p| {
                p.department == department
                    && (p.title.starts_with("Head of")
                        || p.title.starts_with("Chief")
                        || p.title.ends_with("Director"))
            })
        };
        let group = |name: &str| company.groups.iter().find(|g| g.name == name);
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut join = |name: &str, user_id: &str| {
            if let Some(g) = group(name) {
                members
                    .entry(g.id.clone())
                    .or_default()
                    .push(user_id.to_owned());
            }
        };

        let mut directory = Directory::new();
        for person in people {
            let manager = match head_of(person.department) {
                Some(head) if head.user_id != person.user_id => Some(head),
                _ => ceo.filter(|c| c.user_id != person.user_id),
            };
            let location = match person.base {
                scenario::Base::London => "London office".to_owned(),
                scenario::Base::Manchester => "Manchester office".to_owned(),
                scenario::Base::Remote => format!("Remote ({})", person.home.geo.city),
            };
            let mut user = DirectoryUser::with_id(
                &person.user_id,
                &person.username,
                &person.email,
                person.first,
                person.last,
            )
            .position(person.title, person.department)
            .cost_center(&format!(
                "LF-{}",
                person.department.to_ascii_uppercase().replace(' ', "-")
            ))
            .location(&location);
            user.company = Some("Larkfield Analytics Ltd".to_owned());
            user.manager = manager.map(|m| m.user_id.clone());
            user.totp_enrolled = person.mfa == scenario::Mfa::Totp;
            if person.username == company.leaver().username {
                user.state = "SUSPENDED".to_owned();
                user.suspended = true;
            }
            if person.username == company.victim().username {
                user.mfa_configured = false;
                user.totp_enrolled = false;
            }
            if let Some(admin_id) = &person.admin_id {
                let role = if person.username == company.head_of_it().username {
                    "Administrator with Billing"
                } else {
                    "Administrator"
                };
                user.admin_role = Some(role.to_owned());
                directory = directory.admin(DirectoryAdmin::with_id(
                    admin_id,
                    &person.email,
                    person.first,
                    person.last,
                    role,
                ));
            }
            directory = directory.user(user);

            join("All Staff", &person.user_id);
            let department_group = match person.department {
                "IT" => "IT Admins",
                "Product" | "Design" => "Product & Design",
                other => other,
            };
            join(department_group, &person.user_id);
            join(
                match person.base {
                    scenario::Base::London => "Office - London",
                    scenario::Base::Manchester => "Office - Manchester",
                    scenario::Base::Remote => "Remote",
                },
                &person.user_id,
            );
            if person.department == "IT"
                || matches!(
                    person.title,
                    "DevOps Engineer" | "Site Reliability Engineer" | "Chief Technology Officer"
                )
            {
                join("AWS Production", &person.user_id);
            }
            if matches!(
                person.title,
                "Engineering Manager" | "Chief Technology Officer"
            ) {
                join("Release Managers", &person.user_id);
            }
        }
        for integration in [&company.hr_sync, &company.scim] {
            let mut admin = DirectoryAdmin::with_id(
                &integration.admin_id,
                &integration.email,
                integration.name,
                "",
                "Administrator",
            );
            // API-key accounts of integrations: no console login, so no MFA.
            admin.enable_multi_factor = false;
            admin.totp_enrolled = false;
            directory = directory.admin(admin);
        }
        for g in &company.groups {
            directory =
                directory.group_with_id(&g.id, g.name, members.remove(&g.id).unwrap_or_default());
        }
        directory
    }
}

/// The stable id of a group name: 24 hex digits like every JumpCloud object id.
pub fn group_id(name: &str) -> String {
    let hash = name.bytes().fold(0x6a63_7761_7463_6867_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{:08x}{:016x}", (mix(hash) >> 32) as u32, mix(hash ^ 0x55))
}

fn admin_id_for(user_id: &str) -> String {
    let hash = user_id
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("{:024x}", u128::from(mix(hash)))
}

/// An answer that ends a request early (boxed: a `Response` is large).
type Refusal = Box<Response>;

fn refuse(status: StatusCode, text: &str) -> Refusal {
    Box::new(message(status, text))
}

/// The organisation a directory request reads, or the 401.
fn org_of(state: &State, headers: &HeaderMap) -> Result<String, Refusal> {
    let orgs = state
        .authorize(headers, std::time::Instant::now())
        .map_err(|text| refuse(StatusCode::UNAUTHORIZED, &text))?;
    match orgs.as_slice() {
        [org] => Ok(org.clone()),
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "Bad Request: the directory API takes one organisation in x-org-id",
        )),
    }
}

fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Not Found")
}

/// `limit` (default 10, at most 100) and `skip` of a list request.
fn paging(query: &[(String, String)]) -> Result<(usize, usize), Refusal> {
    let number = |name: &str, default: usize| -> Result<usize, Refusal> {
        match query.iter().find(|(k, _)| k == name) {
            None => Ok(default),
            Some((_, v)) => v.trim().parse().map_err(|_| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad Request: {name} must be a whole number"),
                )
            }),
        }
    };
    let limit = number("limit", 10)?;
    if !(1..=100).contains(&limit) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Bad Request: limit must be between 1 and 100",
        ));
    }
    Ok((limit, number("skip", 0)?))
}

/// v1 filters `field:$eq:value`, all of which must hold.
fn v1_filters(query: &[(String, String)]) -> Result<Vec<(String, String)>, Refusal> {
    let mut filters = Vec::new();
    for (key, value) in query {
        if key != "filter" && !key.starts_with("filter[") {
            continue;
        }
        let mut parts = value.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(field), Some("$eq"), Some(wanted)) if !field.is_empty() => {
                filters.push((field.to_owned(), wanted.to_owned()));
            }
            _ => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Bad Request: invalid filter {value:?}; write field:$eq:value (v1 operators start with $)"
                    ),
                ));
            }
        }
    }
    Ok(filters)
}

fn matches_filters(record: &Value, filters: &[(String, String)]) -> bool {
    filters
        .iter()
        .all(|(field, wanted)| match record.get(field) {
            Some(Value::String(s)) => s == wanted,
            Some(Value::Bool(b)) => b.to_string() == *wanted,
            Some(Value::Number(n)) => n.to_string() == *wanted,
            _ => false,
        })
}

/// Keeps the space-separated `fields` of a v1 record, and `_id`.
fn project(record: Value, query: &[(String, String)]) -> Value {
    let Some((_, fields)) = query.iter().find(|(k, _)| k == "fields") else {
        return record;
    };
    let wanted: Vec<&str> = fields.split([' ', ',']).filter(|f| !f.is_empty()).collect();
    if wanted.is_empty() {
        return record;
    }
    match record {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(k, _)| k == "_id" || wanted.contains(&k.as_str()))
                .collect(),
        ),
        other => other,
    }
}

fn v1_list(records: Vec<Value>, query: &[(String, String)]) -> Response {
    let (limit, skip) = match paging(query) {
        Ok(paging) => paging,
        Err(response) => return *response,
    };
    let filters = match v1_filters(query) {
        Ok(filters) => filters,
        Err(response) => return *response,
    };
    let matching: Vec<Value> = records
        .into_iter()
        .filter(|r| matches_filters(r, &filters))
        .collect();
    let total = matching.len();
    let results: Vec<Value> = matching
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|r| project(r, query))
        .collect();
    axum::Json(json!({"results": results, "totalCount": total})).into_response()
}

/// `GET /api/systemusers`.
pub(crate) async fn list_users(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let state = lock(&shared);
    let org = match org_of(&state, &headers) {
        Ok(org) => org,
        Err(response) => return *response,
    };
    let records = state
        .directories
        .get(&org)
        .map(|d| d.users.values().map(DirectoryUser::to_json).collect())
        .unwrap_or_default();
    v1_list(records, &parse_query(query.as_deref()))
}

/// `GET /api/systemusers/{id}`.
pub(crate) async fn get_user(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let state = lock(&shared);
    let org = match org_of(&state, &headers) {
        Ok(org) => org,
        Err(response) => return *response,
    };
    match state.directories.get(&org).and_then(|d| d.users.get(&id)) {
        Some(user) => {
            axum::Json(project(user.to_json(), &parse_query(query.as_deref()))).into_response()
        }
        None => not_found(),
    }
}

/// `GET /api/users` (administrators).
pub(crate) async fn list_admins(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let state = lock(&shared);
    let org = match org_of(&state, &headers) {
        Ok(org) => org,
        Err(response) => return *response,
    };
    let records = state
        .directories
        .get(&org)
        .map(|d| d.admins.values().map(DirectoryAdmin::to_json).collect())
        .unwrap_or_default();
    v1_list(records, &parse_query(query.as_deref()))
}

/// `GET /api/v2/users/{id}/memberof`.
pub(crate) async fn member_of(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let state = lock(&shared);
    let org = match org_of(&state, &headers) {
        Ok(org) => org,
        Err(response) => return *response,
    };
    let query = parse_query(query.as_deref());
    let (limit, skip) = match paging(&query) {
        Ok(paging) => paging,
        Err(response) => return *response,
    };
    for (key, value) in &query {
        if key == "filter" && value != "type:eq:user_group" && !value.starts_with("object_id:") {
            return message(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Bad Request: invalid filter {value:?}; valid fields are object_id and type"
                ),
            );
        }
    }
    let Some(directory) = state.directories.get(&org) else {
        return not_found();
    };
    if !directory.users.contains_key(&id) {
        return not_found();
    }

    let groups = directory.groups_of(&id);
    let total = groups.len();
    let items: Vec<Value> = groups
        .iter()
        .skip(skip)
        .take(limit)
        .map(|group| {
            json!({
                "id": group,
                "type": "user_group",
                "paths": [[{"to": {"id": group, "type": "user_group"}, "attributes": Value::Null}]],
            })
        })
        .collect();
    (
        StatusCode::OK,
        [("x-total-count", total.to_string())],
        axum::Json(items),
    )
        .into_response()
}

/// `GET /api/v2/usergroups/{id}`.
pub(crate) async fn get_group(
    AxumState(shared): AxumState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let state = lock(&shared);
    let org = match org_of(&state, &headers) {
        Ok(org) => org,
        Err(response) => return *response,
    };
    match state.directories.get(&org).and_then(|d| d.groups.get(&id)) {
        Some(name) => axum::Json(json!({
            "id": id,
            "name": name,
            "type": "user_group",
            "description": "",
            "email": "",
            "attributes": {},
            "membershipMethod": "STATIC",
        }))
        .into_response(),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_groups_make_indirect_members() {
        let jane = Person::new("jane.doe", "example.com");
        let directory = Directory::new()
            .user(DirectoryUser::new(&jane, "Jane", "Doe"))
            .group("Finance", &[&jane])
            .nest("All staff", "Finance");

        let groups = directory.groups_of(&jane.id);

        assert_eq!(groups.len(), 2);
        assert!(groups.contains(&group_id("All staff")));
    }

    #[test]
    fn the_scenario_company_is_in_the_directory_with_managers_groups_and_admins() {
        let scenario =
            scenario::Scenario::new(7, chrono::NaiveDate::from_ymd_opt(2025, 6, 10).unwrap());
        let company = scenario.company();

        let directory = Directory::from_company(company);

        let victim = &directory.users[&company.victim().user_id];
        let head = &directory.users[&company.head_of_it().user_id];
        assert_eq!(victim.job_title.as_deref(), Some("Systems Engineer"));
        assert_eq!(victim.manager.as_deref(), Some(head.id.as_str()));
        assert!(!victim.mfa_configured);
        assert!(victim.admin_role.is_some());
        assert!(directory.users[&company.leaver().user_id].suspended);
        let groups: Vec<&str> = directory
            .groups_of(&victim.id)
            .iter()
            .map(|id| directory.groups[id].as_str())
            .collect();
        for name in [
            "All Staff",
            "IT Admins",
            "Office - London",
            "AWS Production",
        ] {
            assert!(groups.contains(&name), "{name} missing from {groups:?}");
        }
        assert!(directory.admins.contains_key(&company.hr_sync.admin_id));
        assert_eq!(directory.users.len(), company.people.len());
    }

    #[test]
    fn group_ids_look_like_object_ids_and_are_stable() {
        assert_eq!(group_id("Finance").len(), 24);
        assert_eq!(group_id("Finance"), group_id("Finance"));
        assert_ne!(group_id("Finance"), group_id("Sales"));
    }

    #[test]
    fn v1_filters_need_the_dollar_operator() {
        let query = vec![("filter".to_owned(), "email:eq:x@example.com".to_owned())];

        assert!(v1_filters(&query).is_err());
        assert_eq!(
            v1_filters(&[("filter".to_owned(), "email:$eq:a:b".to_owned())]).unwrap(),
            [("email".to_owned(), "a:b".to_owned())]
        );
    }
}
