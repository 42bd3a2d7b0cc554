import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';

export class BadUpload extends BadRequestException {}

export class PayloadTooLarge extends PayloadTooLargeException {
  constructor(limit: number) {
    super(`upload larger than the limit of ${limit} bytes (UPLOAD_LIMIT)`);
  }
}
