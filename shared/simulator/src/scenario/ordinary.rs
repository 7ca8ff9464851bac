//! Ordinary days at Larkfield: the activity a detection system must stay quiet about.
//!
//! Each day is generated from its own random stream (seed, day number), so day 3 is the same
//! whether three or ten days are asked for; only the once-per-corpus stories (the flight,
//! the new SSO app, the policy changes) are placed relative to the number of days.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use serde_json::{Value, json};

use super::company::{Base, Company, Mfa, Network, Os, Person};
use super::rng::Rng;
use super::shapes::{Agent, Emitter, Login, Sso, change, set};
use super::{Activity, ScenarioEvent, Truth};

/// When the traveller flies, the new app is created and so on, for a corpus of `days` days:
/// on the second, third and fourth day when there are that many, else on the last.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calendar {
    pub flight_day: u32,
    pub new_app_day: u32,
    pub policy_day: u32,
    pub password_policy_day: u32,
    pub leaver_day: u32,
}

impl Calendar {
    pub fn new(days: u32) -> Self {
        let last = days.saturating_sub(1);
        Self {
            flight_day: last.min(1),
            new_app_day: last.min(1),
            policy_day: last.min(2),
            password_policy_day: last.min(3),
            leaver_day: last.min(2),
        }
    }
}

pub(crate) fn days(
    company: &Company,
    seed: u64,
    start: NaiveDate,
    count: u32,
) -> Vec<ScenarioEvent> {
    let calendar = Calendar::new(count);
    let mut out = Vec::new();
    for day in 0..count {
        let date = start + Duration::days(i64::from(day));
        let mut day_gen = Day {
            em: Emitter::new(
                company,
                Rng::new(seed, "ordinary-day", u64::from(day)),
                Truth::Ordinary(Activity::PortalLogin),
            ),
            company,
            day,
            calendar,
            midnight: Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default()),
            weekend: matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
            context: None,
        };
        day_gen.generate();
        out.extend(day_gen.em.finish());
    }
    out
}

/// Where a person works from today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Office,
    Home,
}

struct Day<'c> {
    em: Emitter<'c>,
    company: &'c Company,
    day: u32,
    calendar: Calendar,
    midnight: DateTime<Utc>,
    weekend: bool,
    /// While set, every event is labelled with this activity (the traveller abroad).
    context: Option<Activity>,
}

impl<'c> Day<'c> {
    fn generate(&mut self) {
        self.hr_sync();
        self.ldap_service_binds();
        if !self.weekend {
            self.scim_updates();
            self.admin_console_logins();
            self.routine_admin_changes();
            self.patch_command();
            self.office_file_share_binds();
        }
        self.once_per_corpus_changes();

        let company = self.company;
        for person in &company.people {
            if !company.employed_on(person, self.day) || self.has_left(person) {
                continue;
            }
            if person.username == company.traveller().username {
                self.traveller_day(person);
                continue;
            }
            if person.joins_on_day == Some(self.day) {
                self.first_day(person);
                continue;
            }
            if self.weekend {
                self.weekend_check_in(person);
                continue;
            }
            if Some(person.username.as_str()) == self.locked_out() {
                self.locked_out_morning(person);
                continue;
            }
            self.workday(person);
        }
    }

    /// Whether a person cannot use the office file share today: abroad, or locked out of
    /// their account for the morning.
    fn away_or_locked_out(&self, person: &Person) -> bool {
        let abroad = person.username == self.company.traveller().username
            && self.day >= self.calendar.flight_day;
        abroad || Some(person.username.as_str()) == self.locked_out()
    }

    /// Who forgets their password today: on every second working day, one of a few office
    /// workers in turn.
    fn locked_out(&self) -> Option<&'static str> {
        const CANDIDATES: [&str; 5] = [
            "kieran.doyle",
            "lucy.baker",
            "noah.phillips",
            "liam.scott",
            "jessica.young",
        ];
        (!self.weekend && self.day.is_multiple_of(2))
            .then(|| CANDIDATES[(self.day as usize / 2) % CANDIDATES.len()])
    }

    fn at(&self, hour: i64, minute: i64) -> DateTime<Utc> {
        self.midnight + Duration::hours(hour) + Duration::minutes(minute)
    }

    fn label(&mut self, activity: Activity) {
        self.em
            .label(Truth::Ordinary(self.context.unwrap_or(activity)));
    }

    fn has_left(&self, person: &Person) -> bool {
        person.username == self.company.leaver().username && self.day >= self.calendar.leaver_day
    }

    /// A normal working day: device login, Wi-Fi in the office, the user portal for some,
    /// SSO into their apps through the day, and now and then a mistyped password.
    fn workday(&mut self, person: &'c Person) {
        let company = self.company;
        let day_start = self.at(7, 15);
        let rng = &mut self.em.rng;
        let place = match company.office_of(person) {
            Some(_) if person.hybrid && rng.chance(0.3) => Place::Home,
            Some(_) => Place::Office,
            None => Place::Home,
        };
        let net = match place {
            Place::Office => company
                .office_of(person)
                .cloned()
                .unwrap_or_else(|| person.home.clone()),
            Place::Home => person.home.clone(),
        };
        let start = day_start + rng.minutes(0, 105);
        let end = start + rng.minutes(480, 570);
        self.working_hours(person, &net, place, start, end);

        if person.username == company.mobile_worker().username {
            self.client_visit_on_the_phone(person, start);
        }
    }

    fn working_hours(
        &mut self,
        person: &'c Person,
        net: &Network,
        place: Place,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) {
        self.device_login(person, net, start);
        if place == Place::Office {
            self.label(Activity::WiFi);
            self.wifi(person, net, start, end);
        }

        let portal = self.em.rng.chance(0.65);
        if portal {
            let at = start + self.em.rng.minutes(2, 20);
            self.portal_login(person, net, at, person.mfa);
        }

        self.label(Activity::Sso);
        self.sso_through_the_day(person, net, start, end, !portal);

        // Back from lunch: unlock the laptop.
        let lunch = start + self.em.rng.minutes(210, 290);
        if lunch < end {
            self.label(Activity::DeviceLogin);
            self.em
                .device_login(lunch, person, &person.laptop, net, true, true);
        }
    }

    fn device_login(&mut self, person: &'c Person, net: &Network, at: DateTime<Utc>) {
        if self.em.rng.chance(0.06) {
            self.label(Activity::MistypedPassword);
            self.em.device_login(
                at - Duration::seconds(9),
                person,
                &person.laptop,
                net,
                false,
                false,
            );
        } else {
            self.label(Activity::DeviceLogin);
        }
        self.em
            .device_login(at, person, &person.laptop, net, true, false);
    }

    /// Laptop and phone join the office Wi-Fi, and re-authenticate once or twice later on.
    fn wifi(
        &mut self,
        person: &'c Person,
        net: &Network,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) {
        let rng = &mut self.em.rng;
        let mut times = vec![start + Duration::seconds(rng.between(40, 200))];
        for _ in 0..rng.between(0, 2) {
            let span = (end - start).num_minutes().max(1);
            times.push(start + rng.minutes(30, span));
        }
        let mistype = rng.chance(0.04);
        for (i, at) in times.into_iter().enumerate() {
            if i == 0 && mistype {
                self.em
                    .radius(at - Duration::seconds(21), person, net, false);
            }
            self.em.radius(at, person, net, true);
        }
    }

    /// A user-portal login, sometimes after one or two mistyped passwords, and (for push
    /// users) now and then after declining the first push by accident.
    fn portal_login(&mut self, person: &'c Person, net: &Network, at: DateTime<Utc>, mfa: Mfa) {
        let agent = Agent::for_laptop(person.laptop.os);
        let rng = &mut self.em.rng;
        let typos = if rng.chance(0.12) {
            rng.between(1, 2)
        } else {
            0
        };
        let declined_push = mfa == Mfa::Push && rng.chance(0.04);
        let mut t = at;
        if typos > 0 || declined_push {
            self.label(Activity::MistypedPassword);
        } else {
            self.label(Activity::PortalLogin);
        }
        for _ in 0..typos {
            self.em
                .user_login(t, person, net, agent, Login::WrongPassword);
            t += Duration::seconds(self.em.rng.between(8, 25));
        }
        if declined_push {
            self.em
                .user_login(t, person, net, agent, Login::MfaRefused(Mfa::Push));
            t += Duration::seconds(self.em.rng.between(20, 50));
        }
        self.em
            .user_login(t, person, net, agent, Login::Success(Some(mfa)));
    }

    /// SSO into the person's apps: Slack and Google every day, the others most days. The
    /// first SSO of the day asks for MFA when the person did not start at the user portal.
    fn sso_through_the_day(
        &mut self,
        person: &'c Person,
        net: &Network,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        mfa_first: bool,
    ) {
        let company = self.company;
        let span = (end - start).num_minutes().max(30);
        let mut visits = Vec::new();
        for (i, &app) in person.apps.iter().enumerate() {
            let daily = i < 2;
            if !daily && !self.em.rng.chance(0.6) {
                continue;
            }
            for _ in 0..self.em.rng.between(1, if daily { 3 } else { 2 }) {
                visits.push((start + self.em.rng.minutes(5, span), app));
            }
        }
        visits.sort();

        let agent = Agent::for_laptop(person.laptop.os);
        for (n, (at, app)) in visits.into_iter().enumerate() {
            let app = &company.apps[app];
            if self.em.rng.chance(0.01) {
                self.em.sso(
                    at,
                    person,
                    app,
                    net,
                    agent,
                    Sso::Failure("not authorized"),
                    Some(&person.laptop),
                );
                continue;
            }
            if n == 0 && mfa_first {
                self.em.sso(
                    at,
                    person,
                    app,
                    net,
                    agent,
                    Sso::MfaStep,
                    Some(&person.laptop),
                );
                let at = at + Duration::seconds(self.em.rng.between(6, 30));
                self.em.sso(
                    at,
                    person,
                    app,
                    net,
                    agent,
                    Sso::Success(true),
                    Some(&person.laptop),
                );
                continue;
            }
            self.em.sso(
                at,
                person,
                app,
                net,
                agent,
                Sso::Success(false),
                Some(&person.laptop),
            );
        }
    }

    /// The account executive leaves the Manchester office for a client and keeps working on
    /// her phone: the mobile carrier's gateway geolocates to London, 260 km away.
    fn client_visit_on_the_phone(&mut self, person: &'c Person, start: DateTime<Utc>) {
        let company = self.company;
        self.label(Activity::MobileNetwork);
        let mobile = company.mobile.clone();
        let mut at = start + self.em.rng.minutes(150, 230);
        for app in ["slack", "salesforce", "slack"] {
            self.em.sso(
                at,
                person,
                company.app(app),
                &mobile,
                Agent::SafariIphone,
                Sso::Success(false),
                None,
            );
            at += self.em.rng.minutes(12, 40);
        }
    }

    /// The odd weekend look at Slack from home.
    fn weekend_check_in(&mut self, person: &'c Person) {
        if !self.em.rng.chance(0.1) {
            return;
        }
        let company = self.company;
        self.label(Activity::Sso);
        let at = self.at(9, 0) + self.em.rng.minutes(0, 600);
        let home = person.home.clone();
        let agent = Agent::for_laptop(person.laptop.os);
        let slack = company.app("slack");
        self.em.sso(
            at,
            person,
            slack,
            &home,
            agent,
            Sso::MfaStep,
            Some(&person.laptop),
        );
        self.em.sso(
            at + Duration::seconds(14),
            person,
            slack,
            &home,
            agent,
            Sso::Success(true),
            Some(&person.laptop),
        );
    }

    /// The sales director works the morning in London, flies to New York (about eight hours
    /// in the air) and logs in from the hotel in the evening; after that he works New York
    /// hours from there. Before the flight day he is an ordinary London worker.
    fn traveller_day(&mut self, person: &'c Person) {
        let company = self.company;
        let flight = self.calendar.flight_day;
        if self.day < flight {
            if !self.weekend {
                self.workday(person);
            }
            return;
        }
        let hotel = company.new_york_hotel.clone();
        if self.day == flight {
            let office = company.london_office.clone();
            let start = self.at(7, 10) + self.em.rng.minutes(0, 15);
            self.working_hours(person, &office, Place::Office, start, self.at(9, 30));

            self.context = Some(Activity::Travel);
            self.label(Activity::Travel);
            let landed = self.at(21, 0) + self.em.rng.minutes(0, 30);
            self.em.sso(
                landed,
                person,
                company.app("slack"),
                &hotel,
                Agent::SafariIphone,
                Sso::MfaStep,
                None,
            );
            self.em.sso(
                landed + Duration::seconds(20),
                person,
                company.app("slack"),
                &hotel,
                Agent::SafariIphone,
                Sso::Success(true),
                None,
            );
            self.portal_login(person, &hotel, landed + Duration::minutes(25), person.mfa);
            self.context = None;
            return;
        }
        if self.weekend {
            return;
        }
        self.context = Some(Activity::Travel);
        let start = self.at(12, 30) + self.em.rng.minutes(0, 45);
        let end = start + Duration::hours(8);
        self.device_login(person, &hotel, start);
        self.portal_login(person, &hotel, start + Duration::minutes(4), person.mfa);
        self.label(Activity::Sso);
        self.sso_through_the_day(person, &hotel, start, end, false);
        self.context = None;
    }

    /// A new hire's first day: the admin activates the account the HR sync created last
    /// night and adds it to groups; the hire logs in (no MFA yet), enrols TOTP, and works.
    fn first_day(&mut self, person: &'c Person) {
        let company = self.company;
        let admin = company.head_of_it();
        let office = company
            .office_of(person)
            .cloned()
            .unwrap_or_else(|| person.home.clone());
        let it_net = company.london_office.clone();
        let Some(admin_initiator) = admin.as_admin() else {
            return;
        };
        self.label(Activity::NewHire);
        let t = self.at(8, 20) + self.em.rng.minutes(0, 20);
        self.em.directory_change(
            t,
            "user_update",
            admin_initiator.clone(),
            "session",
            &it_net,
            Agent::ChromeMac,
            person.as_resource(),
            vec![
                change("state", json!("STAGED"), json!("ACTIVATED")),
                change("activated", json!(false), json!(true)),
            ],
        );
        let department_group = match person.department {
            "Engineering" => "Engineering",
            "Sales" => "Sales",
            "Customer Success" => "Customer Success",
            "Finance" => "Finance",
            "Marketing" => "Marketing",
            _ => "All Staff",
        };
        for (i, group) in ["All Staff", department_group].iter().enumerate() {
            let group = company.group(group);
            self.em.association(
                t + Duration::minutes(2 + i as i64),
                admin_initiator.clone(),
                &it_net,
                Agent::ChromeMac,
                "add",
                ("user", &person.user_id, &person.username),
                ("user_group", &group.id, group.name),
                Value::Null,
            );
        }

        let arrive = self.at(9, 5) + self.em.rng.minutes(0, 20);
        self.em
            .device_login(arrive, person, &person.laptop, &office, true, false);
        let agent = Agent::for_laptop(person.laptop.os);
        let login = arrive + Duration::minutes(6);
        self.em
            .user_login(login, person, &office, agent, Login::Success(None));
        self.em.self_service(
            login + Duration::minutes(1),
            "totp_start_enrollment",
            person,
            &office,
            agent,
            vec![],
        );
        self.em.self_service(
            login + Duration::minutes(2),
            "totp_finish_enrollment",
            person,
            &office,
            agent,
            vec![change("totp_enabled", json!(false), json!(true))],
        );
        let place = if company.office_of(person).is_some() {
            Place::Office
        } else {
            Place::Home
        };
        if place == Place::Office {
            self.em
                .radius(arrive + Duration::minutes(1), person, &office, true);
        }
        self.label(Activity::Sso);
        let end = self.at(17, 0);
        self.sso_through_the_day(person, &office, login + Duration::minutes(5), end, false);
    }

    /// The HR system's nightly sync through the integration admin's API key: a burst of
    /// updates (mostly re-written custom attributes), the new hires who start today, and any
    /// leaver, all from the vendor's one address within a couple of minutes.
    fn hr_sync(&mut self) {
        let company = self.company;
        let hr = &company.hr_sync;
        let mut t = self.at(2, 0) + self.em.rng.minutes(0, 12);
        self.label(Activity::HrSync);

        for hire in company
            .people
            .iter()
            .filter(|p| p.joins_on_day == Some(self.day))
        {
            self.em.directory_change(
                t,
                "user_create",
                hr.as_initiator(),
                "api key",
                &hr.network,
                Agent::Curl,
                hire.as_resource(),
                vec![
                    set("email", json!(hire.email)),
                    set("firstname", json!(hire.first)),
                    set("lastname", json!(hire.last)),
                    set("jobTitle", json!(hire.title)),
                    set("department", json!(hire.department)),
                    set("state", json!("STAGED")),
                    set("activated", json!(false)),
                ],
            );
            t += Duration::seconds(self.em.rng.between(2, 5));
        }

        if self.day == self.calendar.leaver_day {
            let leaver = company.leaver();
            self.label(Activity::Leaver);
            self.em.directory_change(
                t,
                "user_update",
                hr.as_initiator(),
                "api key",
                &hr.network,
                Agent::Curl,
                leaver.as_resource(),
                vec![
                    change("state", json!("ACTIVATED"), json!("SUSPENDED")),
                    change("suspended", json!(false), json!(true)),
                ],
            );
            t += Duration::seconds(self.em.rng.between(2, 5));
            self.label(Activity::HrSync);
        }

        let staff: Vec<&Person> = company
            .people
            .iter()
            .filter(|p| company.employed_on(p, self.day) && !self.has_left(p))
            .collect();
        let count = self.em.rng.between(22, 34) as usize;
        for index in self.em.rng.sample_indexes(staff.len(), count) {
            let person = staff[index];
            let changes = self.hr_changes(person, t);
            let agent = if self.em.rng.chance(0.5) {
                Agent::Curl
            } else {
                Agent::Other
            };
            self.em.directory_change(
                t,
                "user_update",
                hr.as_initiator(),
                "api key",
                &hr.network,
                agent,
                person.as_resource(),
                changes,
            );
            t += Duration::seconds(self.em.rng.between(1, 5));
        }
    }

    /// What the HR sync writes about a person: usually the custom attributes again (with new
    /// sub-document ids), sometimes the cost centre or the manager.
    fn hr_changes(&mut self, person: &Person, at: DateTime<Utc>) -> Vec<Value> {
        let old_id = self.em.object_id(at - Duration::days(1));
        let new_id = self.em.object_id(at);
        let attribute = |id: &str| {
            json!([{"name": "EmployeeId", "id": id, "_id": id,
                    "value": format!("LF{:04}", person.user_id.len() * 7 + person.first.len())},
                   {"name": "Department", "id": id, "_id": id, "value": person.department}])
        };
        let mut changes = vec![change("attributes", attribute(&old_id), attribute(&new_id))];
        if self.em.rng.chance(0.15) {
            changes.push(change(
                "costCenter",
                json!(format!("CC-{}", person.department.len() * 10)),
                json!(format!("CC-{}", person.department.len() * 10 + 1)),
            ));
        }
        changes
    }

    /// The payroll provider's SCIM connector touches a few records in working hours.
    fn scim_updates(&mut self) {
        let company = self.company;
        let scim = &company.scim;
        self.label(Activity::ScimProvisioning);
        for _ in 0..self.em.rng.between(1, 4) {
            let at = self.at(9, 0) + self.em.rng.minutes(0, 480);
            let person = self.em.rng.pick(&company.people[..40]);
            self.em.directory_change(
                at,
                "user_update",
                scim.as_initiator(),
                "api key",
                &scim.network,
                Agent::Curl,
                person.as_resource(),
                vec![change(
                    "employeeType",
                    json!("Permanent"),
                    json!("Permanent - Full time"),
                )],
            );
        }
    }

    /// The CI service account binds to LDAP every two hours, around the clock.
    fn ldap_service_binds(&mut self) {
        self.label(Activity::Ldap);
        let build = self.company.build_server.clone();
        for hour in (0..24).step_by(2) {
            let at = self.at(hour, 3) + Duration::seconds(self.em.rng.between(0, 240));
            // Once, the day after a password rotation, the old password is tried first.
            if self.day == 1 && hour == 10 {
                self.em.ldap_bind(at, "svc-jenkins", &build, false);
                self.em
                    .ldap_bind(at + Duration::minutes(2), "svc-jenkins", &build, true);
                continue;
            }
            self.em.ldap_bind(at, "svc-jenkins", &build, true);
        }
    }

    /// The London office's file server checks people against LDAP when they map the share:
    /// finance, people, operations and the executives every morning (and some again after
    /// lunch); now and then somebody else opens it for a document. The bind comes from the
    /// file server, so from the office address wherever the person sits.
    fn office_file_share_binds(&mut self) {
        const SHARE_USERS: [&str; 4] = ["Finance", "People", "Operations", "Executive"];
        let company = self.company;
        self.label(Activity::Ldap);
        let office = company.london_office.clone();
        let londoners: Vec<&Person> = company
            .people
            .iter()
            .filter(|p| {
                p.base == Base::London
                    && p.joins_on_day.is_none()
                    && !self.has_left(p)
                    && !self.away_or_locked_out(p)
            })
            .collect();
        let (regulars, others): (Vec<&Person>, Vec<&Person>) = londoners
            .into_iter()
            .partition(|p| SHARE_USERS.contains(&p.department));

        for person in regulars {
            if self.em.rng.chance(0.9) {
                let at = self.at(8, 45) + self.em.rng.minutes(0, 105);
                self.em.ldap_bind(at, &person.username, &office, true);
            }
            if self.em.rng.chance(0.4) {
                let at = self.at(13, 0) + self.em.rng.minutes(0, 180);
                self.em.ldap_bind(at, &person.username, &office, true);
            }
        }
        if self.em.rng.chance(0.25) {
            let person = *self.em.rng.pick(&others);
            let at = self.at(10, 0) + self.em.rng.minutes(0, 360);
            self.em.ldap_bind(at, &person.username, &office, true);
        }
    }

    /// The admins sign in to the console in the morning (TOTP), the CTO now and then.
    fn admin_console_logins(&mut self) {
        let company = self.company;
        self.label(Activity::AdminConsoleLogin);
        let office = company.london_office.clone();
        for (username, chance) in [
            ("sarah.mitchell", 1.0),
            ("jamie.clarke", 1.0),
            ("david.chen", 0.4),
        ] {
            if !self.em.rng.chance(chance) {
                continue;
            }
            let Some(initiator) = company.person(username).as_admin() else {
                continue;
            };
            let at = self.at(8, 10) + self.em.rng.minutes(0, 70);
            if self.em.rng.chance(0.08) {
                self.em.admin_login(
                    at - Duration::seconds(15),
                    initiator.clone(),
                    &office,
                    Agent::ChromeMac,
                    false,
                    None,
                );
            }
            self.em.admin_login(
                at,
                initiator,
                &office,
                Agent::ChromeMac,
                true,
                Some(Mfa::Totp),
            );
        }
    }

    /// Group membership and job-title edits in office hours, by the two IT admins.
    fn routine_admin_changes(&mut self) {
        let company = self.company;
        let office = company.london_office.clone();
        let admins = [company.head_of_it(), company.victim()];
        let staff = &company.people[..40];

        self.label(Activity::GroupMembership);
        for _ in 0..self.em.rng.between(1, 3) {
            let admin = *self.em.rng.pick(&admins);
            let person = self.em.rng.pick(staff);
            let group = self.em.rng.pick(&company.groups[1..company.groups.len()]);
            let op = if self.em.rng.chance(0.75) {
                "add"
            } else {
                "remove"
            };
            let at = self.at(9, 30) + self.em.rng.minutes(0, 420);
            let Some(initiator) = admin.as_admin() else {
                continue;
            };
            self.em.association(
                at,
                initiator,
                &office,
                Agent::ChromeMac,
                op,
                ("user", &person.user_id, &person.username),
                ("user_group", &group.id, group.name),
                Value::Null,
            );
        }

        self.label(Activity::JobTitleUpdate);
        for _ in 0..self.em.rng.between(0, 2) {
            let person = self.em.rng.pick(staff);
            let at = self.at(10, 0) + self.em.rng.minutes(0, 360);
            let Some(initiator) = company.head_of_it().as_admin() else {
                continue;
            };
            let promoted = if person.title.starts_with("Senior ") {
                format!("Lead {}", &person.title[7..])
            } else {
                format!("Senior {}", person.title)
            };
            self.em.directory_change(
                at,
                "user_update",
                initiator,
                "session",
                &office,
                Agent::ChromeMac,
                person.as_resource(),
                vec![change("jobTitle", json!(person.title), json!(promoted))],
            );
        }

        self.label(Activity::PasswordChange);
        for _ in 0..self.em.rng.between(0, 2) {
            let person = self.em.rng.pick(staff);
            let net = company
                .office_of(person)
                .cloned()
                .unwrap_or_else(|| person.home.clone());
            let at = self.at(10, 0) + self.em.rng.minutes(0, 300);
            self.em.self_service(
                at,
                "user_password_change",
                person,
                &net,
                Agent::for_laptop(person.laptop.os),
                vec![change("password_date", json!(null), json!("updated"))],
            );
        }
    }

    /// The weekly patch check, run by hand on a handful of laptops that missed the schedule.
    fn patch_command(&mut self) {
        let company = self.company;
        let Some(initiator) = company.victim().as_admin() else {
            return;
        };
        self.label(Activity::PatchCommand);
        let office = company.london_office.clone();
        let mut at = self.at(10, 0) + self.em.rng.minutes(0, 40);
        let count = self.em.rng.between(3, 5) as usize;
        let staff = &company.people[..40];
        let command = (company.patch_command.0.as_str(), company.patch_command.1);
        for index in self.em.rng.sample_indexes(staff.len(), count) {
            self.em.command_run(
                at,
                initiator.clone(),
                &office,
                Agent::ChromeMac,
                command,
                &staff[index].laptop,
            );
            at += Duration::seconds(self.em.rng.between(20, 90));
        }
    }

    /// Someone back from holiday has forgotten their password: six tries at the user portal
    /// lock the account, they ring IT, the head of IT unlocks it, they log in (from the same
    /// desk) and only then start their day.
    fn locked_out_morning(&mut self, person: &'c Person) {
        let company = self.company;
        let net = company
            .office_of(person)
            .cloned()
            .unwrap_or_else(|| person.home.clone());
        let agent = Agent::for_laptop(person.laptop.os);
        self.label(Activity::Lockout);
        let mut t = self.at(8, 0) + self.em.rng.minutes(0, 60);
        for _ in 0..6 {
            self.em
                .user_login(t, person, &net, agent, Login::WrongPassword);
            t += Duration::seconds(self.em.rng.between(10, 35));
        }
        self.em.lockout(t, person, &net);

        let unlock_at = t + self.em.rng.minutes(12, 35);
        let admin = company.head_of_it();
        if let Some(initiator) = admin.as_admin() {
            self.em.directory_change(
                unlock_at,
                "user_unlocked",
                initiator,
                "session",
                &company.london_office,
                Agent::ChromeMac,
                person.as_resource(),
                vec![change("account_locked", json!(true), json!(false))],
            );
        }
        let back = unlock_at + self.em.rng.minutes(2, 8);
        self.em
            .user_login(back, person, &net, agent, Login::Success(Some(person.mfa)));

        let start = back + self.em.rng.minutes(1, 4);
        let end = start + self.em.rng.minutes(420, 500);
        self.working_hours(person, &net, Place::Office, start, end);
    }

    /// The corpus's one-off admin work: a new SSO app (created by one admin, assigned by the
    /// head of IT who approved it) that people then start using, a device-policy update,
    /// and the password policy tightened from 10 to 12 characters.
    fn once_per_corpus_changes(&mut self) {
        let company = self.company;
        let office = company.london_office.clone();
        let (Some(sarah), Some(jamie)) =
            (company.head_of_it().as_admin(), company.victim().as_admin())
        else {
            return;
        };

        if self.day == self.calendar.new_app_day {
            self.label(Activity::NewSsoApp);
            let created = self.at(10, 10) + self.em.rng.minutes(0, 20);
            let app_id = self.em.object_id(created);
            self.em.directory_change(
                created,
                "application_create",
                jamie,
                "session",
                &office,
                Agent::ChromeMac,
                json!({"id": app_id, "type": "application", "name": "notion",
                       "displayLabel": "Notion"}),
                vec![
                    set("displayLabel", json!("Notion")),
                    set("name", json!("notion")),
                    set("ssoUrl", json!("https://sso.jumpcloud.com/saml2/notion")),
                    set("config.acsUrl", json!("https://www.notion.so/sso/saml")),
                ],
            );
            let all_staff = company.group("All Staff");
            self.em.association(
                created + Duration::minutes(25),
                sarah.clone(),
                &office,
                Agent::ChromeMac,
                "add",
                ("application", &app_id, "Notion"),
                ("user_group", &all_staff.id, all_staff.name),
                Value::Null,
            );
            self.first_uses_of_notion(&app_id, created + Duration::minutes(40));
        }

        if self.day == self.calendar.policy_day && !self.weekend {
            self.label(Activity::PolicyUpdate);
            let at = self.at(11, 0) + self.em.rng.minutes(0, 120);
            self.em.directory_change(
                at,
                "policy_update",
                sarah.clone(),
                "session",
                &office,
                Agent::ChromeMac,
                json!({"id": company.device_policy.0, "type": "policy",
                       "name": company.device_policy.1}),
                vec![change("values.timeout", json!(900), json!(300))],
            );
        }

        if self.day == self.calendar.password_policy_day {
            self.label(Activity::PasswordPolicyStrengthened);
            let at = self.at(9, 45) + self.em.rng.minutes(0, 30);
            let policy = |min_length: u32| {
                json!({"minLength": min_length, "enableMinLength": true,
                       "enableMaxLoginAttempts": true, "maxLoginAttempts": 6,
                       "enableLockoutTimeInSeconds": true, "lockoutTimeInSeconds": 600,
                       "needsNumeric": true, "needsSymbolic": true,
                       "needsUppercase": true, "needsLowercase": true,
                       "enableMaxHistory": true, "maxHistory": 5})
            };
            self.em.directory_change(
                at,
                "organization_update",
                sarah,
                "session",
                &office,
                Agent::ChromeMac,
                json!({"displayName": "Larkfield Analytics", "id": company.org_id,
                       "type": "organization"}),
                vec![change("settings.passwordPolicy", policy(10), policy(12))],
            );
        }
    }

    fn first_uses_of_notion(&mut self, app_id: &str, from: DateTime<Utc>) {
        let company = self.company;
        let notion = super::company::App {
            id: app_id.to_string(),
            name: "notion",
            display_label: "Notion",
        };
        let users: Vec<&Person> = company
            .people
            .iter()
            .filter(|p| {
                p.base != Base::Remote
                    && p.joins_on_day.is_none()
                    && !self.has_left(p)
                    && p.username != company.traveller().username
            })
            .collect();
        let count = self.em.rng.between(5, 9) as usize;
        for index in self.em.rng.sample_indexes(users.len(), count) {
            let person = users[index];
            let Some(net) = company.office_of(person).cloned() else {
                continue;
            };
            let at = from + self.em.rng.minutes(0, 200);
            let agent = match person.laptop.os {
                Os::Mac => Agent::SafariMac,
                Os::Windows => Agent::ChromeWindows,
            };
            self.em.sso(
                at,
                person,
                &notion,
                &net,
                agent,
                Sso::Success(false),
                Some(&person.laptop),
            );
        }
    }
}
