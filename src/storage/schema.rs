//! The one diesel schema shared by SQLite and PostgreSQL (portable column types only:
//! ids are UUID text, times are Unix seconds, JSON is text).

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        display_name -> Text,
        policy -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        username -> Text,
        username_normalized -> Text,
        email -> Nullable<Text>,
        email_normalized -> Nullable<Text>,
        display_name -> Nullable<Text>,
        enabled -> Bool,
        admin_role -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        occurred_at -> BigInt,
        action -> Text,
        outcome -> Text,
        actor -> Text,
        subject -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    setup_tokens (tenant_id) {
        tenant_id -> Text,
        token_hash -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(setup_tokens -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(tenants, users, audit_events, setup_tokens);
