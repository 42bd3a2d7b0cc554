import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import type { ApiError } from '@threadreel/model';

/** Every error leaves as JSON {statusCode, error, message}; unexpected ones are logged, never crash the API. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let body: ApiError;
    if (exception instanceof HttpException) {
      const r = exception.getResponse();
      const inner = typeof r === 'string' ? r : (r as { message?: unknown }).message;
      const message =
        typeof inner === 'string'
          ? inner
          : Array.isArray(inner)
            ? inner.map(String).join('; ')
            : exception.message;
      body = { statusCode: exception.getStatus(), error: exception.name.replace(/Exception$/, ''), message };
    } else {
      this.log.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      body = { statusCode: 500, error: 'InternalServerError', message: 'internal error; see the server log' };
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(body.statusCode).json(body);
  }
}
