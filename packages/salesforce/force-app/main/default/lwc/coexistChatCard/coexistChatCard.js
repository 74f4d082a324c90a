import getChatCard from '@salesforce/apex/CoexistChatCardController.getChatCard';
import { api, LightningElement, wire } from 'lwc';
import { buildChatCardModel } from './chatCardModel';

/** The WhatsApp chat card on Contact, Lead and Account record pages; the view logic lives in chatCardModel.js. */
export default class CoexistChatCard extends LightningElement {
  @api recordId;
  @api messageLimit = 20;
  model = buildChatCardModel(null);
  errorMessage;

  @wire(getChatCard, { recordId: '$recordId', messageLimit: '$messageLimit' })
  wiredChatCard({ data, error }) {
    if (error) {
      this.errorMessage = error.body?.message ?? 'The WhatsApp conversation could not be loaded.';
      return;
    }
    this.errorMessage = undefined;
    this.model = buildChatCardModel(data ?? null, Date.now());
  }
}
