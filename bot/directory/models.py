"""SQLAlchemy models of the directory: host countries, missions and their phones, partners.

A partner's services and service areas are child rows, not lists in a column, so that the
look-ups ("legal aid in Hà Tĩnh") are index seeks on (service) and (scope, value).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import relationship

from bot.db import Base  # one MetaData for every table the project owns (and its migrations)

# Vocabularies shared by the loader (validation), the queries and the formatting.
OFFICE_KINDS = (
    "embassy",
    "consulate_general",
    # Taipei: the Vietnam Economic and Cultural Office acts for Viet Nam where there is no embassy.
    "representative_office",
    "labour_management_board",
    "eps_office",
)
PHONE_PURPOSES = ("citizen_protection", "general", "labour")
PARTNER_KINDS = (
    "ngo",
    "employment_service_centre",
    "legal_aid_centre",
    "shelter",
    "counselling",
    "bank",
    "hotline",
    # A provincial department (Sở Nội vụ): it directs the employment service centres.
    "government_office",
)
CONFIDENCE_LEVELS = ("high", "medium", "low")
AREA_SCOPES = ("province", "country", "nationwide")


class HostCountry(Base):
    """A country where Vietnamese migrants work; `main_host` ones are offered as buttons."""

    __tablename__ = "dir_host_countries"

    code = Column(String(2), primary_key=True)  # ISO 3166-1 alpha-2
    name_vi = Column(String(120), nullable=False)
    name_en = Column(String(120), nullable=False)
    main_host = Column(Boolean, nullable=False, default=False)
    sort_order = Column(Integer, nullable=False, default=0)

    offices: list[Office] = relationship("Office", back_populates="country")


class Office(Base):
    """A Vietnamese mission or labour office in a host country."""

    __tablename__ = "dir_offices"

    id = Column(String(80), primary_key=True)
    country_code = Column(String(2), ForeignKey("dir_host_countries.code"), nullable=False)
    kind = Column(String(40), nullable=False)
    city = Column(String(80), nullable=True)
    name_vi = Column(String(300), nullable=False)
    name_en = Column(String(300), nullable=False)
    address = Column(Text, nullable=True)
    email = Column(String(200), nullable=True)
    hours_vi = Column(String(300), nullable=True)
    hours_en = Column(String(300), nullable=True)
    note_vi = Column(Text, nullable=True)
    note_en = Column(Text, nullable=True)
    source = Column(Text, nullable=False)
    last_checked = Column(Date, nullable=False)
    confidence = Column(String(10), nullable=False)

    country: HostCountry = relationship("HostCountry", back_populates="offices")
    phones: list[OfficePhone] = relationship(
        "OfficePhone", back_populates="office", order_by="OfficePhone.position"
    )

    __table_args__ = (Index("ix_dir_offices_country_city", "country_code", "city"),)


class OfficePhone(Base):
    """One number of an office, with what it is for (citizen protection comes first)."""

    __tablename__ = "dir_office_phones"

    office_id = Column(String(80), ForeignKey("dir_offices.id"), primary_key=True)
    purpose = Column(String(40), primary_key=True)
    number = Column(String(80), primary_key=True)
    position = Column(Integer, nullable=False, default=0)

    office: Office = relationship("Office", back_populates="phones")


class Partner(Base):
    """An organisation or hotline that helps migrants and returnees."""

    __tablename__ = "dir_partners"

    id = Column(String(80), primary_key=True)
    kind = Column(String(40), nullable=False)
    name_vi = Column(String(300), nullable=False)
    name_en = Column(String(300), nullable=False)
    description_vi = Column(Text, nullable=True)
    description_en = Column(Text, nullable=True)
    phone = Column(String(200), nullable=True)
    email = Column(String(200), nullable=True)
    website = Column(String(300), nullable=True)
    address = Column(Text, nullable=True)
    hours_vi = Column(String(300), nullable=True)
    hours_en = Column(String(300), nullable=True)
    languages = Column(String(120), nullable=True)  # "vi;en;ko"
    source = Column(Text, nullable=False)
    last_checked = Column(Date, nullable=False)
    confidence = Column(String(10), nullable=False)
    # Never shown to users: marks the benchmark's generated rows.
    synthetic = Column(Boolean, nullable=False, default=False)

    services: list[PartnerService] = relationship("PartnerService", back_populates="partner")
    areas: list[PartnerArea] = relationship("PartnerArea", back_populates="partner")


class PartnerService(Base):
    """A need (from the fixed vocabulary) that a partner serves."""

    __tablename__ = "dir_partner_services"

    partner_id = Column(String(80), ForeignKey("dir_partners.id"), primary_key=True)
    service = Column(String(40), primary_key=True)

    partner: Partner = relationship("Partner", back_populates="services")

    __table_args__ = (Index("ix_dir_partner_services_service", "service", "partner_id"),)


class PartnerArea(Base):
    """Where a partner serves: a current province, a host country, or all of Viet Nam."""

    __tablename__ = "dir_partner_areas"

    partner_id = Column(String(80), ForeignKey("dir_partners.id"), primary_key=True)
    scope = Column(String(20), primary_key=True)
    value = Column(String(120), primary_key=True)  # province name, country code, or ""

    partner: Partner = relationship("Partner", back_populates="areas")

    __table_args__ = (Index("ix_dir_partner_areas_scope_value", "scope", "value", "partner_id"),)


class PartnerCoverage(Base):
    """Derived from services x areas by the loader: one row per (need, place, partner).

    The primary key is the look-up's search key, so "legal aid in Hà Tĩnh or nationwide"
    is a few short range scans of one index instead of a join of two tables.
    """

    __tablename__ = "dir_partner_coverage"

    service = Column(String(40), primary_key=True)
    scope = Column(String(20), primary_key=True)
    value = Column(String(120), primary_key=True)
    partner_id = Column(String(80), ForeignKey("dir_partners.id"), primary_key=True)


class LoadState(Base):
    """Fingerprint of the data files last loaded, so a restart skips an unchanged load."""

    __tablename__ = "dir_load_state"

    key = Column(String(40), primary_key=True)
    value = Column(Text, nullable=False)
    loaded_at = Column(String(40), nullable=True)


def confidence_rank(level: str | None) -> int:
    """0 for high, 1 medium, 2 low: the order results are shown in."""
    try:
        return CONFIDENCE_LEVELS.index(level or "low")
    except ValueError:
        return len(CONFIDENCE_LEVELS)
