import { registerEnumType } from 'type-graphql';

export enum Channel {
  WEB = 'WEB',
  APP = 'APP',
  STORE = 'STORE',
  PHONE = 'PHONE',
  EMAIL = 'EMAIL',
  SMS = 'SMS',
  SOCIAL = 'SOCIAL',
  PARTNER = 'PARTNER',
  OTHER = 'OTHER',
}

registerEnumType(Channel, { name: 'Channel', description: 'Where an interaction happened.' });
