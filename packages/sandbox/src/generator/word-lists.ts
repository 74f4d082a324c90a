/**
 * Small built-in word lists for realistic names, business names and message texts (no network).
 * Texts carry accents and emoji on purpose: signatures must be computed over the exact bytes.
 */
import type { CountryCode, Language } from './phone-numbers.ts';

/** Given names per country. */
export const FIRST_NAMES: Readonly<Record<CountryCode, readonly string[]>> = {
  US: [
    'Olivia',
    'Liam',
    'Emma',
    'Noah',
    'Ava',
    'James',
    'Sophia',
    'Lucas',
    'Mia',
    'Ethan',
    'Harper',
    'Mason',
    'Sheena',
    'Pablo',
  ],
  GB: ['Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Jack', 'Freya', 'Charlie', 'Poppy', 'Alfie', 'Evie'],
  DE: ['Lukas', 'Mia', 'Jonas', 'Hannah', 'Leon', 'Emilia', 'Felix', 'Lea', 'Maximilian', 'Jürgen', 'Sören', 'Anja'],
  BR: [
    'João',
    'Maria',
    'Pedro',
    'Ana',
    'Lucas',
    'Júlia',
    'Gabriel',
    'Beatriz',
    'Matheus',
    'Larissa',
    'Thiago',
    'Camila',
  ],
  IN: ['Aarav', 'Ananya', 'Vivaan', 'Diya', 'Aditya', 'Saanvi', 'Arjun', 'Priya', 'Rohan', 'Isha', 'Karthik', 'Meera'],
  MX: [
    'José',
    'Guadalupe',
    'Juan',
    'Fernanda',
    'Luis',
    'Ximena',
    'Carlos',
    'Valeria',
    'Miguel',
    'Sofía',
    'Diego',
    'Renata',
  ],
  ES: ['Hugo', 'Lucía', 'Martín', 'Sofía', 'Pablo', 'Martina', 'Álvaro', 'Paula', 'Mateo', 'Nerea', 'Íñigo', 'Carmen'],
  FR: ['Gabriel', 'Louise', 'Raphaël', 'Jade', 'Arthur', 'Chloé', 'Léo', 'Inès', 'Hélène', 'François', 'Zoé', 'Théo'],
  IT: ['Leonardo', 'Sofia', 'Francesco', 'Giulia', 'Alessandro', 'Aurora', 'Lorenzo', 'Chiara', 'Niccolò', 'Martina'],
  AR: ['Santiago', 'Valentina', 'Mateo', 'Catalina', 'Benjamín', 'Martina', 'Joaquín', 'Emilia', 'Tomás', 'Agustina'],
  CO: ['Samuel', 'Mariana', 'Alejandro', 'Isabella', 'Nicolás', 'Daniela', 'Sebastián', 'Gabriela', 'Andrés', 'Salomé'],
};

/** Family names per country. */
export const LAST_NAMES: Readonly<Record<CountryCode, readonly string[]>> = {
  US: [
    'Smith',
    'Johnson',
    'Williams',
    'Brown',
    'Garcia',
    'Miller',
    'Davis',
    'Nelson',
    'Morales',
    'Nguyen',
    'Kim',
    "O'Connor",
  ],
  GB: ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Evans', 'Thomas', 'Roberts', 'Walker', 'Patel'],
  DE: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schäfer', 'Koch', 'Groß'],
  BR: [
    'Silva',
    'Santos',
    'Oliveira',
    'Souza',
    'Rodrigues',
    'Ferreira',
    'Alves',
    'Pereira',
    'Lima',
    'Gonçalves',
    'Araújo',
  ],
  IN: ['Sharma', 'Verma', 'Patel', 'Reddy', 'Iyer', 'Nair', 'Gupta', 'Singh', 'Kumar', 'Das', 'Menon'],
  MX: ['Hernández', 'García', 'Martínez', 'López', 'González', 'Pérez', 'Rodríguez', 'Sánchez', 'Ramírez', 'Flores'],
  ES: ['García', 'Fernández', 'González', 'Rodríguez', 'López', 'Martínez', 'Sánchez', 'Pérez', 'Gómez', 'Muñoz'],
  FR: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Lefèvre', 'Moreau'],
  IT: ['Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano', 'Colombo', 'Ricci', 'Marino', 'Greco'],
  AR: ['González', 'Rodríguez', 'Gómez', 'Fernández', 'López', 'Díaz', 'Martínez', 'Pérez', 'Romero', 'Sosa'],
  CO: ['Rodríguez', 'Gómez', 'González', 'Martínez', 'García', 'López', 'Hernández', 'Sánchez', 'Ramírez', 'Torres'],
};

/** Business names for the onboarded numbers. */
export const BUSINESS_NAMES: readonly string[] = [
  'Lucky Shrub',
  'Casa Verde Imóveis',
  'Autohaus Becker',
  'Nova Dental Clinic',
  'Bella Moda Boutique',
  'Sunrise Solar',
  'Taquería El Güero',
  'Green Leaf Catering',
  'Pixel Repair Lab',
  'Atelier Lefèvre',
];

/** Usernames are lowercase handles (WhatsApp usernames, 2026). */
export const USERNAME_WORDS: readonly string[] = [
  'sunny',
  'cactus',
  'blue',
  'pixel',
  'maple',
  'river',
  'coffee',
  'tango',
  'lobo',
  'nube',
  'stern',
  'mare',
];

/** Message texts per language and side. */
export interface TextSet {
  customer: readonly string[];
  business: readonly string[];
  captions: readonly string[];
}

/** Texts a customer and a rep write, per language. */
export const TEXTS: Readonly<Record<Language, TextSet>> = {
  en: {
    customer: [
      'Hi! Is this still available?',
      'Does it come in another color?',
      'Can you send me the price list? 🙏',
      'What time do you open tomorrow?',
      'Thanks!',
      'Perfect, I will pick it up on Friday',
      'Do you deliver to 94301?',
      'I paid, here is the receipt',
      'Can we move my appointment to 3pm?',
      'Ok 👍',
      'Is there a discount for two?',
      'Sorry, who is this?',
    ],
    business: [
      "Here's the info you requested! https://www.example.com/catalog",
      'Hi! Yes, we still have it in stock.',
      'We open at 9am, see you then 😊',
      'Your order #{n} has shipped.',
      'Thanks for your order! Use code THANKS30 for 30% off your next one.',
      'Sure, 3pm works. See you!',
      'The total is USD {n}.00 including delivery.',
      'Let me check with the team and get back to you.',
    ],
    captions: ['Here it is', 'Receipt', 'Front and back', 'Black Prince echeveria', 'Floor plan', 'New arrivals ✨'],
  },
  de: {
    customer: [
      'Hallo, ist das noch verfügbar?',
      'Wann haben Sie morgen geöffnet?',
      'Können Sie mir ein Angebot schicken?',
      'Danke schön!',
      'Passt, ich komme um 15 Uhr vorbei',
      'Gibt es das auch in Größe M?',
      'Überweisung ist raus 👍',
    ],
    business: [
      'Guten Tag! Ja, das ist noch da.',
      'Wir haben ab 9 Uhr geöffnet.',
      'Ihre Bestellung #{n} ist unterwegs.',
      'Der Termin ist bestätigt. Bis Donnerstag!',
      'Ich schicke Ihnen gleich das Angebot über {n} €.',
    ],
    captions: ['Hier das Foto', 'Rechnung', 'Grundriss', 'Schäden am Kotflügel'],
  },
  pt: {
    customer: [
      'Oi, tudo bem? Ainda está disponível?',
      'Qual o valor à vista?',
      'Vocês entregam em São Paulo?',
      'Obrigado! 😊',
      'Pode me mandar o catálogo?',
      'Fechado, passo aí amanhã',
      'Já fiz o Pix',
    ],
    business: [
      'Olá! Sim, ainda temos.',
      'O valor é R$ {n},00 no Pix.',
      'Entregamos sim, em até 2 dias úteis.',
      'Seu pedido #{n} foi enviado 🚚',
      'Combinado, até amanhã!',
    ],
    captions: ['Segue a foto', 'Comprovante', 'Planta do apartamento', 'Novidades da semana'],
  },
  es: {
    customer: [
      'Hola, ¿sigue disponible?',
      '¿Cuánto cuesta el envío?',
      '¿Tienen en talla M?',
      '¡Gracias!',
      'Perfecto, paso mañana por la tarde',
      '¿A qué hora abren el sábado?',
      'Ya hice la transferencia 🙌',
    ],
    business: [
      '¡Hola! Sí, todavía lo tenemos.',
      'El envío cuesta {n} pesos y llega en 48 h.',
      'Abrimos a las 10:00, ¡te esperamos!',
      'Tu pedido #{n} ya salió.',
      'Con gusto, te mando la cotización en un momento.',
    ],
    captions: ['Aquí está la foto', 'Comprobante', 'Catálogo de temporada', 'Menú del día'],
  },
  fr: {
    customer: [
      'Bonjour, c’est toujours disponible ?',
      'Vous livrez à Lyon ?',
      'Merci beaucoup !',
      'Je passe demain à 14h',
      'Quel est le prix exact ?',
    ],
    business: [
      'Bonjour ! Oui, il nous en reste.',
      'La livraison est offerte dès {n} €.',
      'Votre commande #{n} est expédiée.',
      'Très bien, à demain !',
    ],
    captions: ['Voici la photo', 'Facture', 'Nouvelle collection'],
  },
  it: {
    customer: [
      'Buongiorno, è ancora disponibile?',
      'Quanto costa la spedizione?',
      'Grazie mille!',
      'Passo domani pomeriggio',
      'Avete la taglia L?',
    ],
    business: [
      'Buongiorno! Sì, è disponibile.',
      'La spedizione costa {n} € ed è tracciata.',
      'Il suo ordine #{n} è stato spedito.',
      'Perfetto, a domani!',
    ],
    captions: ['Ecco la foto', 'Ricevuta', 'Nuovi arrivi'],
  },
};

/** Emoji customers react with. */
export const REACTION_EMOJI: readonly string[] = ['👍', '❤️', '😂', '😮', '🙏', '🔥'];

/** Document names, with their MIME types. */
export const DOCUMENTS: ReadonlyArray<{ filename: string; mimeType: string }> = [
  { filename: 'receipt.pdf', mimeType: 'application/pdf' },
  { filename: 'Angebot-2026.pdf', mimeType: 'application/pdf' },
  { filename: 'orçamento.pdf', mimeType: 'application/pdf' },
  { filename: 'price-list.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
  { filename: 'contract.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
];

/** Places customers share. */
export const PLACES: ReadonlyArray<{ name: string; address: string; latitude: number; longitude: number }> = [
  {
    name: 'Philz Coffee',
    address: '101 Forest Ave, Palo Alto, CA 94301',
    latitude: 37.44221496582,
    longitude: -122.16165924072,
  },
  {
    name: 'Mercado de San Miguel',
    address: 'Plaza de San Miguel, s/n, 28005 Madrid',
    latitude: 40.41538,
    longitude: -3.70897,
  },
  {
    name: 'Avenida Paulista 1578',
    address: 'Bela Vista, São Paulo - SP, 01310-200',
    latitude: -23.56139,
    longitude: -46.65596,
  },
  { name: 'Brandenburger Tor', address: 'Pariser Platz, 10117 Berlin', latitude: 52.516275, longitude: 13.377704 },
];
