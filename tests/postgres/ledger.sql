-- The five ledger tables with the types a database would give them
-- (docs/postgres.md, "Tables"): the demo ledger is copied into these.
CREATE TABLE customers (
    customer_id text PRIMARY KEY,
    name text NOT NULL,
    segment text NOT NULL,
    country text NOT NULL,
    currency text NOT NULL,
    credit_limit numeric(14,2) NOT NULL,
    payment_terms text NOT NULL,
    credit_score integer,
    risk_class text,
    account_owner text,
    email text,
    phone text,
    preferred_channel text,
    do_not_contact boolean,
    on_hold boolean,
    opened_on date,
    account_type text,
    address_line1 text,
    address_line2 text,
    postcode text,
    city text,
    language text,
    contact_name text
);
CREATE TABLE invoices (
    invoice_id text PRIMARY KEY,
    customer_id text NOT NULL,
    issue_date date NOT NULL,
    due_date date NOT NULL,
    currency text NOT NULL,
    amount numeric(14,2) NOT NULL,
    open_amount numeric(14,2) NOT NULL,
    status text NOT NULL,
    disputed_since date,
    dispute_reason text
);
CREATE TABLE payments (
    payment_id text PRIMARY KEY,
    customer_id text NOT NULL,
    invoice_id text,
    paid_on date NOT NULL,
    amount numeric(14,2) NOT NULL
);
CREATE TABLE promises (
    promise_id text PRIMARY KEY,
    customer_id text NOT NULL,
    invoice_id text,
    made_on date NOT NULL,
    due_on date NOT NULL,
    amount numeric(14,2) NOT NULL,
    plan_id text
);
CREATE TABLE actions (
    action_id text PRIMARY KEY,
    customer_id text NOT NULL,
    invoice_id text,
    rule_id text NOT NULL,
    action text NOT NULL,
    channel text,
    decided_on date NOT NULL,
    executed_on date,
    outcome text
);
