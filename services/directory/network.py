"""Names of the demo network and of generated networks, in each country's own language.

Official names are what the authorities are called at home; generated bodies take their kind's
name in the country's language with an ISO 3166-2 region as the place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NationalBodies:
    name_language: str
    coordinator: str  # the national IMI coordinating authority
    competent: str  # the national authority competent for every procedure of the demo
    competent_en: str  # its informal title in English


DEMO_COUNTRIES: dict[str, NationalBodies] = {
    "at": NationalBodies(
        "de",
        "Bundesministerium für Arbeit und Wirtschaft – IMI-Koordination",
        "Bundesministerium für Bildung, Wissenschaft und Forschung",
        "Federal Ministry of Education, Science and Research",
    ),
    "be": NationalBodies(
        "fr",
        "SPF Économie, P.M.E., Classes moyennes et Énergie – Coordination IMI",
        "Fédération Wallonie-Bruxelles – Service de la reconnaissance académique et "
        "professionnelle des diplômes étrangers",
        "Recognition of foreign diplomas, Wallonia-Brussels Federation",
    ),
    "bg": NationalBodies(
        "bg",
        "Министерство на икономиката и индустрията – координация на ИМИ",
        "Министерство на образованието и науката",
        "Ministry of Education and Science",
    ),
    "cy": NationalBodies(
        "el",
        "Υπουργείο Ενέργειας, Εμπορίου και Βιομηχανίας – Συντονισμός IMI",
        "Κυπριακός Οργανισμός Αξιολόγησης και Αναγνώρισης Ακαδημαϊκών και Επαγγελματικών Προσόντων",
        "Cyprus Agency of Evaluation and Recognition of Qualifications",
    ),
    "cz": NationalBodies(
        "cs",
        "Ministerstvo průmyslu a obchodu – koordinace IMI",
        "Ministerstvo školství, mládeže a tělovýchovy",
        "Ministry of Education, Youth and Sports",
    ),
    "de": NationalBodies(
        "de",
        "Bundesministerium für Wirtschaft und Klimaschutz – IMI-Koordination",
        "Kultusministerkonferenz – Zentralstelle für ausländisches Bildungswesen",
        "Central Office for Foreign Education",
    ),
    "dk": NationalBodies(
        "da",
        "Erhvervsstyrelsen – IMI-koordination",
        "Uddannelses- og Forskningsstyrelsen",
        "Danish Agency for Higher Education and Science",
    ),
    "ee": NationalBodies(
        "et",
        "Majandus- ja Kommunikatsiooniministeerium – IMI koordineerimine",
        "Haridus- ja Noorteamet",
        "Education and Youth Board",
    ),
    "es": NationalBodies(
        "es",
        "Ministerio de Economía, Comercio y Empresa – Coordinación IMI",
        "Ministerio de Educación, Formación Profesional y Deportes",
        "Ministry of Education, Vocational Training and Sports",
    ),
    "fi": NationalBodies(
        "fi",
        "Työ- ja elinkeinoministeriö – IMI-koordinaatio",
        "Opetushallitus",
        "Finnish National Agency for Education",
    ),
    "fr": NationalBodies(
        "fr",
        "Secrétariat général des affaires européennes – Coordination IMI",
        "Centre international d'études pédagogiques – France Éducation international",
        "France Education International",
    ),
    "gr": NationalBodies(
        "el",
        "Υπουργείο Ανάπτυξης – Συντονισμός IMI",
        "Υπουργείο Παιδείας, Θρησκευμάτων και Αθλητισμού",
        "Ministry of Education, Religious Affairs and Sports",
    ),
    "hr": NationalBodies(
        "hr",
        "Ministarstvo gospodarstva – koordinacija IMI",
        "Ministarstvo znanosti, obrazovanja i mladih",
        "Ministry of Science, Education and Youth",
    ),
    "hu": NationalBodies(
        "hu",
        "Nemzetgazdasági Minisztérium – IMI-koordináció",
        "Oktatási Hivatal",
        "Educational Authority",
    ),
    "ie": NationalBodies(
        "en",
        "Department of Enterprise, Trade and Employment – IMI Coordination",
        "The Teaching Council",
        "Teaching Council of Ireland",
    ),
    "is": NationalBodies(
        "is",
        "Utanríkisráðuneytið – IMI-samhæfing",
        "Mennta- og barnamálaráðuneytið",
        "Ministry of Education and Children",
    ),
    "it": NationalBodies(
        "it",
        "Presidenza del Consiglio dei Ministri – Dipartimento per gli Affari Europei – "
        "Coordinamento IMI",
        "Ministero dell'Istruzione e del Merito",
        "Ministry of Education and Merit",
    ),
    "li": NationalBodies(
        "de",
        "Stabsstelle EWR – IMI-Koordination",
        "Schulamt des Fürstentums Liechtenstein",
        "Education Office of the Principality of Liechtenstein",
    ),
    "lt": NationalBodies(
        "lt",
        "Ekonomikos ir inovacijų ministerija – IMI koordinavimas",
        "Studijų kokybės vertinimo centras",
        "Centre for Quality Assessment in Higher Education",
    ),
    "lu": NationalBodies(
        "fr",
        "Ministère de l'Économie – Coordination IMI",
        "Ministère de l'Éducation nationale, de l'Enfance et de la Jeunesse",
        "Ministry of Education, Children and Youth",
    ),
    "lv": NationalBodies(
        "lv",
        "Ekonomikas ministrija – IMI koordinācija",
        "Akadēmiskās informācijas centrs",
        "Academic Information Centre",
    ),
    "mt": NationalBodies(
        "mt",
        "Ministeru għall-Ekonomija, l-Intrapriża u l-Proġetti Strateġiċi – Koordinazzjoni IMI",
        "Awtorità Maltija għall-Kwalifiki",
        "Malta Further and Higher Education Authority",
    ),
    "nl": NationalBodies(
        "nl",
        "Ministerie van Economische Zaken – IMI-coördinatie",
        "Dienst Uitvoering Onderwijs",
        "Education Executive Agency",
    ),
    "no": NationalBodies(
        "no",
        "Nærings- og fiskeridepartementet – IMI-koordinering",
        "Direktoratet for høyere utdanning og kompetanse",
        "Norwegian Directorate for Higher Education and Skills",
    ),
    "pl": NationalBodies(
        "pl",
        "Ministerstwo Rozwoju i Technologii – Koordynacja IMI",
        "Ministerstwo Edukacji Narodowej",
        "Ministry of National Education",
    ),
    "pt": NationalBodies(
        "pt",
        "Direção-Geral das Atividades Económicas – Coordenação IMI",
        "Direção-Geral da Administração Escolar",
        "Directorate-General for School Administration",
    ),
    "ro": NationalBodies(
        "ro",
        "Ministerul Economiei, Digitalizării, Antreprenoriatului și Turismului – Coordonare IMI",
        "Centrul Național de Recunoaștere și Echivalare a Diplomelor",
        "National Centre for Recognition and Equivalence of Diplomas",
    ),
    "se": NationalBodies(
        "sv",
        "Kommerskollegium – IMI-samordning",
        "Universitets- och högskolerådet",
        "Swedish Council for Higher Education",
    ),
    "si": NationalBodies(
        "sl",
        "Ministrstvo za gospodarstvo, turizem in šport – koordinacija IMI",
        "Ministrstvo za vzgojo in izobraževanje",
        "Ministry of Education",
    ),
    "sk": NationalBodies(
        "sk",
        "Ministerstvo hospodárstva Slovenskej republiky – koordinácia IMI",
        "Ministerstvo školstva, výskumu, vývoja a mládeže Slovenskej republiky",
        "Ministry of Education, Research, Development and Youth",
    ),
}

COMMISSION_NAME = (
    "European Commission – Directorate-General for Internal Market, Industry, "
    "Entrepreneurship and SMEs"
)

# "National competent authority – <country>", the demo's informal titles in a few languages.
NATIONAL_TITLE: dict[str, str] = {
    "de": "Nationale zuständige Behörde – {country}",
    "fr": "Autorité nationale compétente – {country}",
    "pt": "Autoridade nacional competente – {country}",
    "el": "Εθνική αρμόδια αρχή – {country}",
}

# Where a country's regions speak different languages, the language of the region's bodies.
REGION_LANGUAGES: dict[str, str] = {"BE-VLG": "nl", "BE-WAL": "fr", "BE-BRU": "fr"}

KINDS = ("education", "health", "crafts", "labour", "business", "municipality")

# What each kind of body is competent for: area -> keywords (the area's procedures follow).
KIND_COMPETENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "education": {
        "professional_qualifications": (
            "teacher",
            "secondary_school_teacher",
            "childcare_worker",
            "social_worker",
            "driving_instructor",
        ),
    },
    "health": {
        "professional_qualifications": (
            "doctor",
            "nurse",
            "midwife",
            "dentist",
            "pharmacist",
            "physiotherapist",
            "psychologist",
            "speech_therapist",
            "optician",
            "veterinary_surgeon",
        ),
    },
    "crafts": {
        "professional_qualifications": ("electrician", "plumber", "hairdresser", "engineer"),
        "services": ("craft_trades",),
    },
    "labour": {
        "posting_of_workers": (
            "construction",
            "temporary_work_agency",
            "road_haulage",
            "seasonal_agricultural_work",
            "meat_processing",
            "shipbuilding",
            "live_in_care",
            "industrial_maintenance",
        ),
    },
    "business": {
        "services": (
            "estate_agency",
            "private_security",
            "catering",
            "cleaning_services",
            "it_consulting",
            "advertising",
            "car_rental",
            "event_organisation",
            "management_consulting",
            "cross_border_postal_services",
        ),
        "professional_qualifications": ("lawyer", "accountant", "architect"),
    },
    "municipality": {
        "services": ("tourism", "catering", "estate_agency"),
        "professional_qualifications": (
            "tourist_guide",
            "ski_instructor",
            "mountain_guide",
            "childcare_worker",
        ),
    },
}

# The name of each kind of body in each language; {place} is a region's name.
KIND_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "education": "Education Authority of {place}",
        "health": "Health Professions Registration Office of {place}",
        "crafts": "Chamber of Crafts of {place}",
        "labour": "Labour Inspectorate of {place}",
        "business": "Business Licensing Office of {place}",
        "municipality": "Municipality of {place}",
    },
    "de": {
        "education": "Schulbehörde {place}",
        "health": "Landesamt für Gesundheitsberufe {place}",
        "crafts": "Handwerkskammer {place}",
        "labour": "Arbeitsinspektorat {place}",
        "business": "Gewerbeamt {place}",
        "municipality": "Gemeindeverwaltung {place}",
    },
    "fr": {
        "education": "Direction de l'éducation de {place}",
        "health": "Office des professions de santé de {place}",
        "crafts": "Chambre des métiers et de l'artisanat de {place}",
        "labour": "Inspection du travail de {place}",
        "business": "Service des autorisations commerciales de {place}",
        "municipality": "Commune de {place}",
    },
    "nl": {
        "education": "Onderwijsinspectie {place}",
        "health": "Registratiebureau Zorgberoepen {place}",
        "crafts": "Kamer van Ambachten {place}",
        "labour": "Arbeidsinspectie {place}",
        "business": "Bureau Bedrijfsvergunningen {place}",
        "municipality": "Gemeente {place}",
    },
    "it": {
        "education": "Ufficio scolastico di {place}",
        "health": "Ordine delle professioni sanitarie di {place}",
        "crafts": "Camera dell'artigianato di {place}",
        "labour": "Ispettorato del lavoro di {place}",
        "business": "Sportello unico per le attività produttive di {place}",
        "municipality": "Comune di {place}",
    },
    "es": {
        "education": "Consejería de Educación de {place}",
        "health": "Registro de Profesiones Sanitarias de {place}",
        "crafts": "Cámara de Artesanía de {place}",
        "labour": "Inspección de Trabajo de {place}",
        "business": "Oficina de Licencias de Actividad de {place}",
        "municipality": "Ayuntamiento de {place}",
    },
    "pt": {
        "education": "Direção de Serviços de Educação de {place}",
        "health": "Gabinete de Registo das Profissões de Saúde de {place}",
        "crafts": "Câmara dos Ofícios de {place}",
        "labour": "Inspeção do Trabalho de {place}",
        "business": "Balcão de Licenciamento de Atividades de {place}",
        "municipality": "Câmara Municipal de {place}",
    },
    "pl": {
        "education": "Kuratorium Oświaty – {place}",
        "health": "Okręgowa Izba Zawodów Medycznych – {place}",
        "crafts": "Izba Rzemieślnicza – {place}",
        "labour": "Okręgowy Inspektorat Pracy – {place}",
        "business": "Wydział Działalności Gospodarczej – {place}",
        "municipality": "Urząd Gminy – {place}",
    },
    "cs": {
        "education": "Odbor školství – {place}",
        "health": "Registr zdravotnických povolání – {place}",
        "crafts": "Hospodářská komora – {place}",
        "labour": "Oblastní inspektorát práce – {place}",
        "business": "Živnostenský úřad – {place}",
        "municipality": "Obecní úřad – {place}",
    },
    "sk": {
        "education": "Odbor školstva – {place}",
        "health": "Register zdravotníckych povolaní – {place}",
        "crafts": "Remeselná komora – {place}",
        "labour": "Inšpektorát práce – {place}",
        "business": "Živnostenský úrad – {place}",
        "municipality": "Obecný úrad – {place}",
    },
    "sl": {
        "education": "Urad za šolstvo – {place}",
        "health": "Register zdravstvenih poklicev – {place}",
        "crafts": "Obrtna zbornica – {place}",
        "labour": "Inšpektorat za delo – {place}",
        "business": "Upravna enota – {place}",
        "municipality": "Občinska uprava – {place}",
    },
    "hr": {
        "education": "Upravni odjel za obrazovanje – {place}",
        "health": "Registar zdravstvenih djelatnika – {place}",
        "crafts": "Obrtnička komora – {place}",
        "labour": "Inspektorat rada – {place}",
        "business": "Ured za gospodarstvo – {place}",
        "municipality": "Gradska uprava – {place}",
    },
    "bg": {
        "education": "Регионално управление на образованието – {place}",
        "health": "Регистър на медицинските специалисти – {place}",
        "crafts": "Занаятчийска камара – {place}",
        "labour": "Инспекция по труда – {place}",
        "business": "Отдел „Стопански дейности“ – {place}",
        "municipality": "Община {place}",
    },
    "el": {
        "education": "Διεύθυνση Εκπαίδευσης – {place}",
        "health": "Μητρώο Επαγγελματιών Υγείας – {place}",
        "crafts": "Βιοτεχνικό Επιμελητήριο – {place}",
        "labour": "Επιθεώρηση Εργασίας – {place}",
        "business": "Υπηρεσία Αδειοδότησης Επιχειρήσεων – {place}",
        "municipality": "Δήμος {place}",
    },
    "ro": {
        "education": "Inspectoratul Școlar – {place}",
        "health": "Registrul Profesiilor Medicale – {place}",
        "crafts": "Camera Meșteșugarilor – {place}",
        "labour": "Inspectoratul Teritorial de Muncă – {place}",
        "business": "Oficiul pentru Autorizarea Activităților Economice – {place}",
        "municipality": "Primăria {place}",
    },
    "hu": {
        "education": "Tankerületi Központ – {place}",
        "health": "Egészségügyi Szakmai Nyilvántartás – {place}",
        "crafts": "Kézműves Kamara – {place}",
        "labour": "Munkaügyi Felügyelőség – {place}",
        "business": "Iparügyi Hatóság – {place}",
        "municipality": "Polgármesteri Hivatal – {place}",
    },
    "fi": {
        "education": "Opetustoimi – {place}",
        "health": "Terveydenhuollon ammattihenkilöiden rekisteri – {place}",
        "crafts": "Käsi- ja taideteollisuuskamari – {place}",
        "labour": "Työsuojelun vastuualue – {place}",
        "business": "Elinkeinolupayksikkö – {place}",
        "municipality": "Kunnanvirasto – {place}",
    },
    "sv": {
        "education": "Utbildningsförvaltningen – {place}",
        "health": "Registret över hälso- och sjukvårdspersonal – {place}",
        "crafts": "Hantverkskammaren – {place}",
        "labour": "Arbetsmiljöinspektionen – {place}",
        "business": "Tillståndsenheten för näringsverksamhet – {place}",
        "municipality": "Kommunförvaltningen – {place}",
    },
    "da": {
        "education": "Børne- og Undervisningsforvaltningen – {place}",
        "health": "Autorisationsregistret for sundhedspersoner – {place}",
        "crafts": "Håndværksrådet – {place}",
        "labour": "Arbejdstilsynet – {place}",
        "business": "Erhvervsservice – {place}",
        "municipality": "{place} Kommune",
    },
    "no": {
        "education": "Utdanningsavdelingen – {place}",
        "health": "Helsepersonellregisteret – {place}",
        "crafts": "Håndverkskammeret – {place}",
        "labour": "Arbeidstilsynet – {place}",
        "business": "Næringsetaten – {place}",
        "municipality": "{place} kommune",
    },
    "is": {
        "education": "Skóla- og frístundasvið – {place}",
        "health": "Skrá yfir heilbrigðisstarfsmenn – {place}",
        "crafts": "Iðnaðarmannafélagið – {place}",
        "labour": "Vinnueftirlitið – {place}",
        "business": "Leyfisveitingar atvinnurekstrar – {place}",
        "municipality": "Sveitarfélagið {place}",
    },
    "et": {
        "education": "Haridusosakond – {place}",
        "health": "Tervishoiutöötajate register – {place}",
        "crafts": "Käsitöökoda – {place}",
        "labour": "Tööinspektsioon – {place}",
        "business": "Ettevõtluslubade osakond – {place}",
        "municipality": "Vallavalitsus – {place}",
    },
    "lv": {
        "education": "Izglītības pārvalde – {place}",
        "health": "Ārstniecības personu reģistrs – {place}",
        "crafts": "Amatniecības kamera – {place}",
        "labour": "Darba inspekcija – {place}",
        "business": "Uzņēmējdarbības atļauju nodaļa – {place}",
        "municipality": "Pašvaldība – {place}",
    },
    "lt": {
        "education": "Švietimo skyrius – {place}",
        "health": "Sveikatos specialistų registras – {place}",
        "crafts": "Amatų rūmai – {place}",
        "labour": "Darbo inspekcija – {place}",
        "business": "Verslo leidimų skyrius – {place}",
        "municipality": "Savivaldybės administracija – {place}",
    },
    "mt": {
        "education": "Direttorat għall-Edukazzjoni – {place}",
        "health": "Reġistru tal-Professjonisti tas-Saħħa – {place}",
        "crafts": "Kamra tas-Snajja' – {place}",
        "labour": "Dipartiment għar-Relazzjonijiet Industrijali u tal-Impjiegi – {place}",
        "business": "Uffiċċju tal-Liċenzji tan-Negozju – {place}",
        "municipality": "Kunsill Lokali – {place}",
    },
    "ga": {
        "education": "Oifig Oideachais – {place}",
        "health": "Clár na nGairmithe Sláinte – {place}",
        "crafts": "Comhairle Ceardaíochta – {place}",
        "labour": "Cigireacht Saothair – {place}",
        "business": "Oifig Ceadúnais Gnó – {place}",
        "municipality": "Comhairle Contae – {place}",
    },
}

KIND_DESCRIPTIONS_EN: dict[str, str] = {
    "education": (
        "Registers teachers and childcare staff of {place} and recognises professional "
        "qualifications obtained abroad."
    ),
    "health": (
        "Keeps the register of doctors, nurses and other health professionals of {place}; "
        "confirms good standing and reports sanctions."
    ),
    "crafts": (
        "Registers craft businesses and trades people of {place} and issues certificates of "
        "competence."
    ),
    "labour": (
        "Supervises working conditions in {place}, including workers posted from other countries."
    ),
    "business": (
        "Grants licences to service providers in {place} and answers questions on their "
        "registration."
    ),
    "municipality": (
        "Local administration of {place}: local licences, tourism, childcare and catering."
    ),
}

# Rough population weights (millions), so generated networks are denser where people live.
POPULATION: dict[str, float] = {
    "at": 9.1, "be": 11.8, "bg": 6.4, "cy": 0.9, "cz": 10.9, "de": 84.5, "dk": 5.9, "ee": 1.4,
    "es": 48.6, "fi": 5.6, "fr": 68.4, "gr": 10.4, "hr": 3.9, "hu": 9.6, "ie": 5.3, "is": 0.4,
    "it": 59.0, "li": 0.04, "lt": 2.9, "lu": 0.7, "lv": 1.9, "mt": 0.6, "nl": 17.9, "no": 5.5,
    "pl": 36.8, "pt": 10.5, "ro": 19.1, "se": 10.6, "si": 2.1, "sk": 5.4,
}  # fmt: skip
