-- The operational sales database that pipelines/variants/sales-cdc.yaml reads with postgres_cdc:
-- the order-taking system of a design-led manufacturer. Normalised, as an application keeps it;
-- the warehouse (pipelines/sales.yaml) turns it into a star schema.
-- Applied by `node scripts/sales-oltp.js setup`; safe to run again.

CREATE TABLE IF NOT EXISTS currency (
  currency_id   serial PRIMARY KEY,
  currency_code char(3) NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_updated  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS department (
  department_id   serial PRIMARY KEY,
  department_name text NOT NULL,
  location        text NOT NULL,
  manager         text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_updated    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS staff (
  staff_id      serial PRIMARY KEY,
  first_name    text NOT NULL,
  last_name     text NOT NULL,
  department_id int NOT NULL REFERENCES department,
  email_address text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_updated  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS address (
  address_id     serial PRIMARY KEY,
  address_line_1 text NOT NULL,
  address_line_2 text,
  district       text,
  city           text NOT NULL,
  postal_code    text NOT NULL,
  country        text NOT NULL,
  phone          text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_updated   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS design (
  design_id     serial PRIMARY KEY,
  design_name   text NOT NULL,
  file_location text NOT NULL,
  file_name     text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_updated  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS counterparty (
  counterparty_id         serial PRIMARY KEY,
  counterparty_legal_name text NOT NULL,
  legal_address_id        int NOT NULL REFERENCES address,
  commercial_contact      text,
  delivery_contact        text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  last_updated            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales_order (
  sales_order_id              serial PRIMARY KEY,
  design_id                   int NOT NULL REFERENCES design,
  staff_id                    int NOT NULL REFERENCES staff,
  counterparty_id             int NOT NULL REFERENCES counterparty,
  units_sold                  int NOT NULL CHECK (units_sold > 0),
  unit_price                  numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
  currency_id                 int NOT NULL REFERENCES currency,
  agreed_delivery_date        date NOT NULL,
  agreed_payment_date         date NOT NULL,
  agreed_delivery_location_id int NOT NULL REFERENCES address,
  delivered_at                timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  last_updated                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS payment_type (
  payment_type_id   serial PRIMARY KEY,
  payment_type_name text NOT NULL UNIQUE,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_updated      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS payment (
  payment_id             serial PRIMARY KEY,
  sales_order_id         int REFERENCES sales_order ON DELETE SET NULL,
  counterparty_id        int NOT NULL REFERENCES counterparty,
  payment_amount         numeric(12, 2) NOT NULL,
  currency_id            int NOT NULL REFERENCES currency,
  payment_type_id        int NOT NULL REFERENCES payment_type,
  paid                   boolean NOT NULL DEFAULT false,
  payment_date           date NOT NULL,
  company_ac_number      text NOT NULL,
  counterparty_ac_number text NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  last_updated           timestamptz NOT NULL DEFAULT now()
);

-- Every update stamps last_updated, as the application's ORM would: the warehouse versions the
-- dimensions by it, and postgres_poll could read any of these tables by it.
CREATE OR REPLACE FUNCTION touch_last_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.last_updated := now();
  RETURN NEW;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['currency','department','staff','address','design','counterparty','sales_order','payment_type','payment'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS touch_last_updated ON %I', t);
    EXECUTE format('CREATE TRIGGER touch_last_updated BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION touch_last_updated()', t);
  END LOOP;
END $$;
